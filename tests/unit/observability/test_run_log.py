"""The lines of a sync's run log: one per stage, per failed or skipped object, per PVC, and a summary."""

from __future__ import annotations

import logging

from drsyncer.report import ObjectOutcome, PvcOutcome, SyncReport
from drsyncer.run_log import (
    MAX_OBJECT_LINES,
    LogLine,
    apply_line,
    data_line,
    discover_line,
    human_bytes,
    object_lines,
    pvc_end_line,
    summary_line,
)


def _report(*objects: ObjectOutcome, pvcs: list[PvcOutcome] | None = None) -> SyncReport:
    return SyncReport(
        mapping="web",
        source_cluster="prod",
        source_namespace="shop",
        destination_cluster="dr",
        destination_namespace="shop",
        started_at="",
        duration_seconds=2.25,
        objects=list(objects),
        pvcs=pvcs or [],
    )


def test_human_bytes_reads_like_a_person_writes_sizes() -> None:
    assert [human_bytes(n) for n in (0, 512, 1536, 12 * 1024**2, 3 * 1024**4)] == [
        "0 B",
        "512 B",
        "1.5 KiB",
        "12.0 MiB",
        "3.0 TiB",
    ]


def test_discover_line_counts_objects_on_both_sides_and_the_kinds() -> None:
    assert (
        discover_line([(10, 9), (3, 0)], seconds=0.42) == "discover: 13 in source, 9 in DR, 2 kinds in 0.4 s"
    )


def test_apply_line_counts_each_outcome() -> None:
    outcomes = [
        ObjectOutcome("ConfigMap", "a", "create", "synced"),
        ObjectOutcome("ConfigMap", "b", "unchanged", "unchanged"),
        ObjectOutcome("ConfigMap", "c", "update", "failed", error="conflict"),
    ]

    line = apply_line(outcomes, seconds=1.0)

    assert line == "apply: 1 created, 0 updated, 1 unchanged, 0 pruned, 0 skipped, 1 failed in 1.0 s"


def test_unchanged_objects_get_no_line_failed_and_skipped_get_their_reason() -> None:
    outcomes = [
        ObjectOutcome("ConfigMap", "same", "unchanged", "unchanged"),
        ObjectOutcome("Service", "web", "create", "failed", error="nodePort 30400 is taken"),
        ObjectOutcome("Pod", "x", "skip", "skipped", reason="owned by a controller"),
    ]

    lines = object_lines(outcomes)

    assert lines == [
        LogLine(logging.WARNING, "Service/web failed: nodePort 30400 is taken"),
        LogLine(logging.INFO, "Pod/x skipped: owned by a controller"),
    ]


def test_object_lines_are_bounded_and_count_the_rest() -> None:
    outcomes = [ObjectOutcome("Secret", f"s{i}", "skip", "skipped", reason="ignored") for i in range(100)]

    lines = object_lines(outcomes)

    assert len(lines) == MAX_OBJECT_LINES + 1
    assert lines[-1].message.startswith(f"... and {100 - MAX_OBJECT_LINES} more")


def test_pvc_end_line_has_bytes_files_throughput_verification_and_attempts() -> None:
    outcome = PvcOutcome(
        "data-db-0",
        "synced",
        bytes_transferred=4 * 1024**2,
        files_transferred=12,
        total_bytes=8 * 1024**2,
        duration_seconds=2.0,
        verification="full: 12 files checked, passed",
        attempts=2,
    )

    line = pvc_end_line(outcome)

    assert line.level == logging.INFO
    assert line.message == (
        "PVC data-db-0: 4.0 MiB in 12 files transferred in 2.0 s (2.0 MiB/s) of 8.0 MiB; "
        "verification full: 12 files checked, passed; 2 attempts"
    )


def test_a_failed_pvc_ends_with_a_warning_naming_the_error() -> None:
    line = pvc_end_line(PvcOutcome("data-db-0", "failed", error="source agent unreachable", attempts=3))

    assert line.level == logging.WARNING
    assert "after 3 attempt(s)" in line.message
    assert "source agent unreachable" in line.message


def test_data_line_counts_pvcs_and_bytes() -> None:
    outcomes = [PvcOutcome("a", "synced", bytes_transferred=2048), PvcOutcome("b", "failed", error="x")]

    assert (
        data_line(outcomes, seconds=3.0) == "PVC data: 1 PVCs synced, 1 failed in 3.0 s, 2.0 KiB transferred"
    )


def test_summary_of_a_good_run_is_info_and_of_a_failed_run_error_with_the_reasons() -> None:
    good = summary_line(_report(ObjectOutcome("ConfigMap", "a", "create", "synced")))
    bad = summary_line(_report(ObjectOutcome("Service", "web", "create", "failed", error="port taken")))

    assert good.level == logging.INFO
    assert good.message.startswith("sync of web (prod/shop → dr/shop) Completed in 2.2 s: 1 created")
    assert bad.level == logging.ERROR
    assert bad.message.endswith("failed: Service/web: port taken")


def test_summary_quotes_a_long_failure_list_only_up_to_a_bound() -> None:
    failures = [ObjectOutcome("ConfigMap", f"c{i}", "create", "failed", error="x" * 100) for i in range(100)]

    line = summary_line(_report(*failures))

    assert len(line.message) < 2500
    assert line.message.endswith("(see the summary artifact)")
