"""The run record: a failed run's reason, stage outcomes and PVC numbers survive the round trip."""

from __future__ import annotations

import json

from drsyncer.metrics.run_record import failure_reason, parse_artifact_data, record_rows
from drsyncer.report import ObjectOutcome, PvcOutcome, SyncReport


def _report(**fields: object) -> SyncReport:
    report = SyncReport(
        mapping="web",
        source_cluster="prod",
        source_namespace="shop",
        destination_cluster="dr",
        destination_namespace="shop",
        started_at="2026-12-03T10:00:00Z",
        duration_seconds=12.5,
        stage_seconds={"objects": 2.0, "data": 10.0},
    )
    for name, value in fields.items():
        setattr(report, name, value)
    return report


def test_a_successful_run_round_trips_stages_pvcs_and_outcomes() -> None:
    report = _report(
        objects=[
            ObjectOutcome("ConfigMap", "a", "create", "synced"),
            ObjectOutcome("Secret", "b", "unchanged", "unchanged"),
        ],
        pvcs=[
            PvcOutcome("data-0", "synced", bytes_transferred=1000, files_transferred=3, duration_seconds=4.0)
        ],
    )

    record = parse_artifact_data(json.dumps(record_rows(report)))

    assert record is not None
    assert record.succeeded
    assert record.reason == ""
    assert record.stage_status == {"objects": "succeeded", "data": "succeeded"}
    assert record.stage_seconds == {"objects": 2.0, "data": 10.0}
    assert [(p.name, p.succeeded, p.bytes, p.files) for p in record.pvcs] == [("data-0", True, 1000, 3)]
    assert record.outcomes["created"] == 1
    assert record.outcomes["unchanged"] == 1


def test_a_run_without_pvcs_skips_the_data_stage() -> None:
    record = parse_artifact_data(
        record_rows(_report(objects=[ObjectOutcome("ConfigMap", "a", "create", "synced")]))
    )

    assert record is not None
    assert record.stage_status["data"] == "skipped"


def test_failed_objects_fail_the_objects_stage_while_data_can_succeed() -> None:
    report = _report(
        objects=[ObjectOutcome("Service", "web", "create", "failed", error="nodePort taken")],
        pvcs=[PvcOutcome("data-0", "synced")],
    )

    record = parse_artifact_data(record_rows(report))

    assert record is not None
    assert not record.succeeded
    assert record.reason == "objects"
    assert record.stage_status == {"objects": "failed", "data": "succeeded"}


def test_the_most_fundamental_failure_is_the_reason() -> None:
    failed_object = ObjectOutcome("Service", "web", "create", "failed")
    failed_pvc = PvcOutcome("data-0", "failed")
    assert failure_reason(_report(error="cluster dr unreachable", objects=[failed_object])) == "error"
    assert failure_reason(_report(objects=[failed_object], pvcs=[failed_pvc])) == "objects"
    assert failure_reason(_report(pvcs=[failed_pvc])) == "data"
    assert failure_reason(_report()) == ""


def test_a_record_holds_no_object_names_or_errors() -> None:
    report = _report(
        objects=[ObjectOutcome("Secret", "db-password", "create", "failed", error="token xyz refused")]
    )

    text = json.dumps(record_rows(report))

    assert "db-password" not in text
    assert "xyz" not in text


def test_other_table_data_is_not_a_record() -> None:
    assert parse_artifact_data("not json") is None
    assert parse_artifact_data(json.dumps({"a": 1})) is None


def test_a_data_only_run_skips_the_objects_stage() -> None:
    report = _report(pvcs=[PvcOutcome("data-0", "failed", error="agent down")])

    record = parse_artifact_data(record_rows(report, data_only=True))

    assert record is not None
    assert record.stage_status == {"objects": "skipped", "data": "failed"}
    assert not record.succeeded
    assert record.reason == "data"
    assert record.outcomes == {}  # the last sync's object counts stay
