"""What the exporter serves, and which metric names a PromQL expression reads (for rules and dashboard).

``served_names()`` renders a real exposition with the exporter's collector over a mapping state that has
every kind of series (a success per stage, a PVC, a failure, an agent), and parses it back with
prometheus_client's parser — the names a Prometheus scraping dr-syncer would store.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from drsyncer.metrics.collector import AgentStatus, MappingView, families
from drsyncer.metrics.run_record import PvcRecord, RunRecord
from drsyncer.metrics.state import FinishedRun, MappingState, observe

KEYWORDS = {
    "by",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "without",
    "unless",
    "and",
    "or",
    "bool",
    "offset",
}


class _Snapshot(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> list[Metric]:
        return self.metrics


def served_names() -> set[str]:
    """Every sample name in a full exposition of the exporter."""
    state = MappingState()
    record = RunRecord(
        succeeded=True,
        reason="",
        seconds=3.0,
        stage_status={"objects": "succeeded", "data": "succeeded"},
        stage_seconds={"objects": 1.0, "data": 2.0},
        pvcs=(PvcRecord("data-0", succeeded=True, seconds=2.0, bytes=10, files=1),),
        outcomes={"created": 1},
    )
    observe(state, FinishedRun("a", "COMPLETED", start=1000.0, end=1003.0, record=record))
    observe(state, FinishedRun("b", "FAILED", start=2000.0, end=2003.0))
    view = MappingView(
        label="web", source="prod", destination="dr", objective=600.0, paused=False, state=state
    )
    metrics = families(
        [view], now=3000.0, up=True, last_refresh=2999.0, agents=[AgentStatus("dr", "n1", True)], version="0"
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    text = generate_latest(registry).decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels and literals removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(?:by|on|ignoring|group_left|group_right|without)\s*\([^)]*\)", "", text)  # label lists
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group(0)
        following = text[match.end() :].lstrip()
        if name in KEYWORDS or following.startswith("(") or name.startswith("$"):
            continue
        if text[max(0, match.start() - 1)] == "$":
            continue
        names.add(name)
    return names
