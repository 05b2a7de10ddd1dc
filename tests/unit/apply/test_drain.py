"""Which pods RecreateWithPodDrain drains: the whole selector of a workload or Service, a claim's pods."""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tasks.apply.drain import mounts_claim, pod_selector


def test_workload_selector_includes_match_expressions() -> None:
    deployment: KubeObject = {
        "kind": "Deployment",
        "spec": {
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "track", "operator": "In", "values": ["stable", "beta"]},
                    {"key": "legacy", "operator": "DoesNotExist"},
                ],
            }
        },
    }

    assert pod_selector(deployment) == "app=web,track in (stable,beta),!legacy"


def test_service_selector_and_kinds_without_pods() -> None:
    service: KubeObject = {"kind": "Service", "spec": {"selector": {"b": "2", "a": "1"}}}

    assert pod_selector(service) == "a=1,b=2"
    assert pod_selector({"kind": "Service", "spec": {}}) is None
    assert pod_selector({"kind": "ConfigMap", "data": {}}) is None


def test_a_claim_is_drained_of_the_pods_that_mount_it() -> None:
    pod: KubeObject = {"spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}

    assert mounts_claim(pod, "data")
    assert not mounts_claim(pod, "other")
    assert not mounts_claim({"spec": {}}, "data")
