"""Reading a sync report's markdown artifact back into counts and bytes (``drsyncer status``)."""

from __future__ import annotations

from deployments.status import summary_from_markdown
from drsyncer.report import ObjectOutcome, PvcOutcome, SyncReport


def test_counts_and_pvc_bytes_come_back_from_the_report_markdown() -> None:
    report = SyncReport(
        mapping="shop",
        source_cluster="source",
        source_namespace="shop",
        destination_cluster="dr",
        destination_namespace="shop",
        started_at="2026-01-01T00:00:00Z",
    )
    report.objects = [
        ObjectOutcome(kind="ConfigMap", name="a", action="create", status="synced"),
        ObjectOutcome(kind="ConfigMap", name="b", action="unchanged", status="unchanged"),
    ]
    report.pvcs = [
        PvcOutcome(name="data", status="synced", bytes_transferred=1200),
        PvcOutcome(name="logs", status="synced", bytes_transferred=34),
    ]
    counts, total_bytes = summary_from_markdown(report.to_markdown())
    assert counts["created"] == 1
    assert counts["unchanged"] == 1
    assert total_bytes == 1234


def test_markdown_without_pvcs_has_no_bytes() -> None:
    counts, total_bytes = summary_from_markdown("| created | updated |\n|---|---|\n| 3 | 0 |\n")
    assert counts == {"created": 3, "updated": 0}
    assert total_bytes is None
