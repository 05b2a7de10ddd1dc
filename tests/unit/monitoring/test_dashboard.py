"""The Grafana dashboard: valid JSON whose every query reads metrics the exporter serves, and which shows
per-mapping RPO, sync durations, bytes, failures and agent status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.unit.monitoring.exposition import metric_names, served_names

DASHBOARD = Path(__file__).resolve().parents[3] / "deployments" / "monitoring" / "dashboard.json"


def _dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


def _expressions() -> list[tuple[str, str]]:
    dashboard = _dashboard()
    found = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            inner = query.removeprefix("label_values(").rsplit(",", 1)[0]
            found.append((f"variable {variable['name']}", inner))
    return found


def test_every_expression_reads_only_served_metrics() -> None:
    served = served_names()
    for title, expression in _expressions():
        names = metric_names(expression)
        assert names, (title, expression)
        assert names <= served, (title, names - served)


def test_the_dashboard_shows_rpo_durations_bytes_failures_and_agents() -> None:
    used = {name for _, expression in _expressions() for name in metric_names(expression)}
    for needed in (
        "drsyncer_rpo_seconds",
        "drsyncer_rpo_objective_seconds",
        "drsyncer_sync_duration_seconds_bucket",
        "drsyncer_pvc_bytes_transferred_total",
        "drsyncer_sync_failures_total",
        "drsyncer_agent_up",
    ):
        assert needed in used, needed


def test_panels_have_titles_unique_ids_and_do_not_overlap() -> None:
    panels = _dashboard()["panels"]
    assert all(panel["title"] for panel in panels)
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area
