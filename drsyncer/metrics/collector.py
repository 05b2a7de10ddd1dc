"""The Prometheus metric families dr-syncer exports, built at scrape time from the exporter's snapshot.

Every name, type and label set is here (docs/observability.md documents them; the alert rules and the
dashboard are tested against :data:`METRIC_NAMES`). Labels are bounded: mapping, cluster and node names,
PVC names, stage, outcome and failure reason — never an object name, a host address or a secret.

RPO is computed at scrape time (``now`` minus the start of the last success), so it keeps growing while
the Prefect API is unreachable and the exporter serves its last known values (``drsyncer_exporter_up 0``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from drsyncer.metrics.objective import rpo_seconds
from drsyncer.metrics.run_record import FAILURE_REASONS, STAGES
from drsyncer.metrics.state import DURATION_BUCKETS, MappingState
from drsyncer.report import COUNT_KEYS

PREFIX = "drsyncer_"

METRIC_NAMES = (
    "drsyncer_info",
    "drsyncer_exporter_up",
    "drsyncer_exporter_last_refresh_timestamp_seconds",
    "drsyncer_last_success_timestamp_seconds",
    "drsyncer_rpo_seconds",
    "drsyncer_rpo_objective_seconds",
    "drsyncer_pvc_last_success_timestamp_seconds",
    "drsyncer_sync_duration_seconds",
    "drsyncer_objects",
    "drsyncer_sync_failures_total",
    "drsyncer_sync_consecutive_failures",
    "drsyncer_pvc_bytes_transferred_total",
    "drsyncer_pvc_files_transferred_total",
    "drsyncer_agent_up",
    "drsyncer_mapping_paused",
    "drsyncer_pvc_held",
)
"""Every metric the exporter serves (histogram and counter names as written in PromQL, without suffixes)."""


@dataclass(frozen=True)
class MappingView:
    """One mapping as the collector sees it: identity, objective, pause and folded run state."""

    label: str
    """The ``mapping`` label: the mapping's name (``namespace/name`` when the name is ambiguous)."""
    source: str
    destination: str
    objective: float | None
    paused: bool
    state: MappingState


@dataclass(frozen=True)
class AgentStatus:
    """One agent's last probe."""

    cluster: str
    node: str
    up: bool


def families(
    views: Sequence[MappingView],
    *,
    now: float,
    up: bool,
    last_refresh: float | None,
    agents: Iterable[AgentStatus] = (),
    version: str,
) -> list[Metric]:
    """All metric families for one scrape."""
    info = GaugeMetricFamily("drsyncer_info", "dr-syncer build information.", labels=["version"])
    info.add_metric([version], 1)
    exporter_up = GaugeMetricFamily(
        "drsyncer_exporter_up",
        "1 when the last read of the Prefect API succeeded, else 0 (values are stale).",
    )
    exporter_up.add_metric([], 1 if up else 0)
    result: list[Metric] = [info, exporter_up]
    if last_refresh is not None:
        refreshed = GaugeMetricFamily(
            "drsyncer_exporter_last_refresh_timestamp_seconds",
            "When the Prefect API was last read successfully.",
        )
        refreshed.add_metric([], last_refresh)
        result.append(refreshed)
    result += _mapping_families(views, now=now)
    agent_up = GaugeMetricFamily(
        "drsyncer_agent_up",
        "1 when the agent answered a control-key probe, else 0.",
        labels=["cluster", "node"],
    )
    for agent in agents:
        agent_up.add_metric([agent.cluster, agent.node], 1 if agent.up else 0)
    result.append(agent_up)
    return result


def _mapping_families(views: Sequence[MappingView], *, now: float) -> list[Metric]:
    last_success = GaugeMetricFamily(
        "drsyncer_last_success_timestamp_seconds",
        "Start time of the last successful sync of the stage (unix seconds).",
        labels=["mapping", "source", "destination", "stage"],
    )
    rpo = GaugeMetricFamily(
        "drsyncer_rpo_seconds",
        "Now minus the start of the last successful sync of the stage: changes older than this are in DR.",
        labels=["mapping", "stage"],
    )
    objective = GaugeMetricFamily(
        "drsyncer_rpo_objective_seconds",
        "The mapping's RPO objective (annotation dr-syncer.io/rpo-objective, else 2x its schedule interval).",
        labels=["mapping"],
    )
    pvc_success = GaugeMetricFamily(
        "drsyncer_pvc_last_success_timestamp_seconds",
        "Start time of the last sync that copied the PVC's data successfully (unix seconds).",
        labels=["mapping", "pvc"],
    )
    duration = HistogramMetricFamily(
        "drsyncer_sync_duration_seconds", "Duration of a sync stage.", labels=["mapping", "stage"]
    )
    objects = GaugeMetricFamily(
        "drsyncer_objects", "Objects per outcome in the last finished sync.", labels=["mapping", "outcome"]
    )
    failures = CounterMetricFamily(
        "drsyncer_sync_failures", "Failed sync runs by reason.", labels=["mapping", "reason"]
    )
    consecutive = GaugeMetricFamily(
        "drsyncer_sync_consecutive_failures",
        "Failed sync runs since the last successful one.",
        labels=["mapping"],
    )
    pvc_bytes = CounterMetricFamily(
        "drsyncer_pvc_bytes_transferred", "Bytes rsync transferred for the PVC.", labels=["mapping", "pvc"]
    )
    pvc_files = CounterMetricFamily(
        "drsyncer_pvc_files_transferred", "Files rsync transferred for the PVC.", labels=["mapping", "pvc"]
    )
    paused = GaugeMetricFamily("drsyncer_mapping_paused", "1 when the mapping is paused.", labels=["mapping"])
    held = GaugeMetricFamily(
        "drsyncer_pvc_held",
        "1 when the PVC's latest data sync was held by the change guard (its DR copy left as it was).",
        labels=["mapping", "pvc"],
    )
    for view in views:
        state, name = view.state, view.label
        for stage in STAGES:
            start = state.last_success.get(stage)
            if start is None:
                continue
            last_success.add_metric([name, view.source, view.destination, stage], start)
            rpo.add_metric([name, stage], rpo_seconds(start, now=now) or 0.0)
        if view.objective is not None:
            objective.add_metric([name], view.objective)
        for pvc, start in sorted(state.pvc_last_success.items()):
            pvc_success.add_metric([name, pvc], start)
        for stage in STAGES:
            histogram = state.durations[stage]
            duration.add_metric([name, stage], _buckets(histogram.buckets, histogram.count), histogram.total)
        if state.outcomes:
            for outcome in COUNT_KEYS:
                objects.add_metric([name, outcome], state.outcomes.get(outcome, 0))
        for reason in FAILURE_REASONS:
            failures.add_metric([name, reason], state.failures.get(reason, 0))
        consecutive.add_metric([name], state.consecutive_failures)
        _add_per_pvc(pvc_bytes, name, state.pvc_bytes)
        _add_per_pvc(pvc_files, name, state.pvc_files)
        paused.add_metric([name], 1 if view.paused else 0)
        for pvc, is_held in sorted(state.pvc_held.items()):
            held.add_metric([name, pvc], 1 if is_held else 0)
    return [
        last_success, rpo, objective, pvc_success, duration, objects, failures, consecutive,
        pvc_bytes, pvc_files, paused, held,
    ]  # fmt: skip


def _buckets(counts: Sequence[int], total: int) -> list[tuple[str, float]]:
    buckets: list[tuple[str, float]] = [
        (str(bound), float(count)) for bound, count in zip(DURATION_BUCKETS, counts, strict=True)
    ]
    buckets.append(("+Inf", float(total)))
    return buckets


def _add_per_pvc(family: CounterMetricFamily, mapping: str, values: Mapping[str, Any]) -> None:
    for pvc, value in sorted(values.items()):
        family.add_metric([mapping, pvc], value)
