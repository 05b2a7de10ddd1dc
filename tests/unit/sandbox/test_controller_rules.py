"""The pure rules inside the sandbox's real-cluster controllers (HPA conditions, pod specs, nodePorts)."""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.objects import KubeObject
from drsyncer.sandbox.admission import pod_spec_of
from drsyncer.sandbox.allocation import Allocator
from drsyncer.sandbox.hpa import conditions_for

ACTIVE = [("AbleToScale", True, "ReadyForNewScale"), ("ScalingActive", True, "ValidMetricFound")]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, [("AbleToScale", False, "FailedGetScale")]),
        (0, [("AbleToScale", True, "SucceededGetScale"), ("ScalingActive", False, "ScalingDisabled")]),
        (1, [*ACTIVE, ("ScalingLimited", True, "TooFewReplicas")]),
        (5, [*ACTIVE, ("ScalingLimited", True, "TooManyReplicas")]),
        (3, [*ACTIVE, ("ScalingLimited", False, "DesiredWithinRange")]),
    ],
)
def test_hpa_conditions_follow_the_targets_replicas(
    current: int | None, expected: list[tuple[str, bool, str]]
) -> None:
    assert conditions_for(current, low=2, high=4) == expected


def test_hpa_with_min_zero_keeps_scaling_at_zero() -> None:
    kinds = {kind: value for kind, value, _ in conditions_for(0, low=0, high=4)}
    assert kinds["ScalingActive"] is True


@pytest.mark.parametrize(
    ("key", "obj", "found"),
    [
        (("", "pods"), {"spec": {"containers": []}}, True),
        (("apps", "deployments"), {"spec": {"template": {"spec": {"containers": []}}}}, True),
        (("batch", "cronjobs"), {"spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}, True),
        (("", "configmaps"), {"data": {}}, False),
        (("apps", "deployments"), {"spec": {}}, False),
    ],
)
def test_pod_spec_is_found_where_each_kind_keeps_it(
    key: tuple[str, str], obj: KubeObject, found: bool
) -> None:
    assert (pod_spec_of(key, obj) is not None) is found


def _node_port_spec(*ports: dict[str, Any]) -> dict[str, Any]:
    return {"type": "NodePort", "clusterIP": "10.96.0.20", "ports": [dict(p) for p in ports]}


def test_update_without_node_port_keeps_the_old_port_of_the_same_name() -> None:
    allocator = Allocator("10.96.0.0/16")
    old = _node_port_spec({"name": "http", "port": 80, "nodePort": 30080})
    new = _node_port_spec({"name": "http", "port": 80})
    assert allocator.assign(new, [], old=old) == []
    assert new["ports"][0]["nodePort"] == 30080


def test_update_never_reuses_a_port_another_entry_claims() -> None:
    allocator = Allocator("10.96.0.0/16")
    old = _node_port_spec({"name": "http", "port": 80, "nodePort": 30080})
    new = _node_port_spec({"name": "http", "port": 80}, {"name": "admin", "port": 81, "nodePort": 30080})
    assert allocator.assign(new, [], old=old) == []
    assert new["ports"][0]["nodePort"] != 30080
