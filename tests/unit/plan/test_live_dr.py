"""Which DR workloads count as live after a cutover, and the refusal (tasks/plan/live_dr.py)."""

from __future__ import annotations

import pytest

from drsyncer.labels import ORIGINAL_REPLICAS
from drsyncer.objects import KubeObject
from tasks.plan.live_dr import (
    DrLiveError,
    live_workload,
    live_workloads,
    refuse_live_dr,
    stopped_by_operation,
)


def _workload(
    name: str, replicas: int, *, recorded: str | None = None, kind: str = "Deployment"
) -> KubeObject:
    annotations = {ORIGINAL_REPLICAS: recorded} if recorded is not None else {}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"replicas": replicas},
    }


def test_a_source_stopped_by_a_cutover_has_zero_replicas_and_a_recorded_count() -> None:
    assert stopped_by_operation(_workload("web", 0, recorded="3"))
    assert not stopped_by_operation(_workload("web", 0))  # scaled to 0 by its owners
    assert not stopped_by_operation(_workload("web", 0, recorded="0"))
    assert not stopped_by_operation(_workload("web", 3, recorded="3"))  # started again by a failback
    assert not stopped_by_operation(_workload("web", 0, recorded="x"))
    assert not stopped_by_operation({**_workload("web", 0, recorded="3"), "kind": "ConfigMap"})


def test_dr_is_live_only_where_it_runs_a_workload_whose_source_a_cutover_stopped() -> None:
    sources = [
        _workload("web", 0, recorded="3"),
        _workload("db", 0, recorded="2", kind="StatefulSet"),
        _workload("batch", 0),
        _workload("cache", 2),
    ]
    dr = [
        _workload("web", 3),
        _workload("db", 0, kind="StatefulSet"),  # not started yet: parked, not live
        _workload("batch", 1),
        _workload("cache", 1),  # kept warm by a scale-override while the source runs
    ]

    assert live_workloads(sources, dr) == ["Deployment/web (3 replicas)"]


def test_a_workload_missing_on_either_side_or_of_another_kind_is_not_live() -> None:
    stopped = _workload("web", 0, recorded="3")
    assert live_workload(stopped, None) is None
    assert live_workload(None, _workload("web", 3)) is None
    assert live_workload(stopped, _workload("web", 3, kind="StatefulSet")) is None


def test_the_refusal_names_the_workloads_the_namespace_and_the_failback_command() -> None:
    found = [f"Deployment/app-{i} (1 replicas)" for i in range(7)]

    with pytest.raises(DrLiveError) as refused:
        refuse_live_dr(found, mapping="shop", dr_namespace="shop-dr")

    message = str(refused.value)
    assert "DR is live in shop-dr" in message
    assert "Deployment/app-0 (1 replicas)" in message
    assert "and 2 more" in message
    assert "Deployment/app-6" not in message
    assert "`drsyncer failback CONFIG --mapping shop`" in message
    assert "nothing was written" in message
    refuse_live_dr([], mapping="shop", dr_namespace="shop-dr")  # nothing live: no refusal
