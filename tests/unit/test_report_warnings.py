"""Warnings in the report: they never fail a sync, and reach the JSON, the markdown artifact and the
NamespaceMapping status; the API server's Warning headers are read as kube-apiserver writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from urllib3 import HTTPHeaderDict

from drsyncer.config.loader import load_config
from drsyncer.controller import result_status
from drsyncer.kube.client import warning_texts
from drsyncer.report import ObjectOutcome, SyncReport
from tests.unit.config.factories import namespace_mapping, two_clusters, write_documents

WARNING = (
    "cluster 'source': API group packages.operators.coreos.com/v1 was left out: its discovery failed (503)"
)


def _report(*, warnings: list[str], failed: bool = False) -> SyncReport:
    report = SyncReport(
        mapping="shop",
        source_cluster="source",
        source_namespace="shop",
        destination_cluster="dr",
        destination_namespace="shop",
        started_at="2026-01-01T00:00:00Z",
        warnings=warnings,
    )
    report.objects = [
        ObjectOutcome(kind="ConfigMap", name="a", action="create", status="failed" if failed else "synced")
    ]
    return report


def test_a_report_with_only_warnings_succeeds_and_lists_them() -> None:
    report = _report(warnings=[WARNING])

    assert report.succeeded
    document = report.to_json()
    assert document["phase"] == "Completed"
    assert document["warnings"] == [WARNING]
    assert f"## Warnings\n\n- {WARNING}" in report.to_markdown()


def test_a_report_without_warnings_has_an_empty_list_and_no_section() -> None:
    report = _report(warnings=[])

    assert report.to_json()["warnings"] == []
    assert "Warnings" not in report.to_markdown()


def test_the_namespace_mapping_status_carries_a_warnings_condition(tmp_path: Path) -> None:
    path = write_documents(tmp_path / "config.yaml", [*two_clusters(), namespace_mapping("shop")])
    mapping = load_config([path]).mapping("shop")
    now = datetime(2026, 1, 1, tzinfo=UTC)

    warned = result_status(mapping, _report(warnings=[WARNING]), previous={}, now=now)
    clean = result_status(mapping, _report(warnings=[]), previous={}, now=now)

    conditions = {c["type"]: c for c in warned["conditions"]}
    assert conditions["Synced"]["status"] == "True"
    assert conditions["Warnings"]["status"] == "True"
    assert conditions["Warnings"]["reason"] == "SyncWarnings"
    assert conditions["Warnings"]["message"] == WARNING
    assert {c["type"]: c["status"] for c in clean["conditions"]} == {"Synced": "True", "Warnings": "False"}


def test_warning_headers_are_read_one_text_each_with_escaped_quotes_unescaped() -> None:
    headers = HTTPHeaderDict()
    headers.add("Warning", '299 - "batch/v1beta1 CronJob is deprecated in v1.21+, unavailable in v1.25+"')
    headers.add("Warning", '299 - "unknown field \\"spec.foo\\""')

    assert warning_texts(headers) == [
        "batch/v1beta1 CronJob is deprecated in v1.21+, unavailable in v1.25+",
        'unknown field "spec.foo"',
    ]
    assert warning_texts(HTTPHeaderDict()) == []
    assert warning_texts(None) == []
