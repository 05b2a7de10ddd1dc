"""One HorizontalPodAutoscaler served at autoscaling/v2 and autoscaling/v1, converted through the stored form.

Upstream behaviour reproduced (``pkg/apis/autoscaling/v1/conversion.go``): ``autoscaling/v1`` has no
``metrics``; a CPU utilisation target is ``spec.targetCPUUtilizationPercentage``, and what v1 cannot
express travels in the annotation ``autoscaling.alpha.kubernetes.io/metrics`` so that writing the v1 form
back keeps it. An object written at either version is read at the other, converted.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Raw

V2 = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
V1 = "/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers"
METRICS = "autoscaling.alpha.kubernetes.io/metrics"


def _cpu(utilization: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
    }


MEMORY = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}},
}
TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


@pytest.fixture
def hpa_paths(ns: str) -> tuple[str, str]:
    return V2.format(ns=ns), V1.format(ns=ns)


def test_a_v2_hpa_read_at_v1_has_the_cpu_target_and_keeps_other_metrics_in_the_annotation(
    raw: Raw, hpa_paths: tuple[str, str]
) -> None:
    v2, v1 = hpa_paths
    body = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": TARGET, "minReplicas": 2, "maxReplicas": 5, "metrics": [_cpu(70), MEMORY]},
    }
    assert raw("POST", v2, body)[0] == 201

    status, served, _ = raw("GET", f"{v1}/web")

    assert status == 200
    assert served["apiVersion"] == "autoscaling/v1"
    assert served["spec"]["targetCPUUtilizationPercentage"] == 70
    assert "metrics" not in served["spec"]
    assert (served["spec"]["minReplicas"], served["spec"]["maxReplicas"]) == (2, 5)
    assert METRICS in served["metadata"]["annotations"]


def test_a_v1_hpa_is_stored_with_a_cpu_metric_and_a_v1_round_trip_keeps_the_other_metrics(
    raw: Raw, hpa_paths: tuple[str, str]
) -> None:
    v2, v1 = hpa_paths
    body = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": TARGET, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50},
    }
    status, created, _ = raw("POST", v1, body)
    assert status == 201, created
    assert created["apiVersion"] == "autoscaling/v1"

    _, stored, _ = raw("GET", f"{v2}/api")
    assert stored["spec"]["metrics"] == [_cpu(50)]

    assert (
        raw(
            "PATCH",
            f"{v2}/api",
            {"spec": {"metrics": [_cpu(50), MEMORY]}},
            content_type="application/merge-patch+json",
        )[0]
        == 200
    )
    _, as_v1, _ = raw("GET", f"{v1}/api")
    as_v1["spec"]["targetCPUUtilizationPercentage"] = 60
    status, replaced, _ = raw("PUT", f"{v1}/api", as_v1)
    assert status == 200, replaced

    _, stored, _ = raw("GET", f"{v2}/api")
    assert stored["spec"]["metrics"][0] == _cpu(60)
    assert MEMORY in stored["spec"]["metrics"]
    assert METRICS not in (stored["metadata"].get("annotations") or {})


def test_a_merge_patch_at_v1_patches_the_v1_form(raw: Raw, hpa_paths: tuple[str, str]) -> None:
    v2, v1 = hpa_paths
    body = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "jobs"},
        "spec": {"scaleTargetRef": TARGET, "maxReplicas": 3, "metrics": [_cpu(80)]},
    }
    assert raw("POST", v2, body)[0] == 201

    status, patched, _ = raw(
        "PATCH",
        f"{v1}/jobs",
        {"spec": {"targetCPUUtilizationPercentage": 65}},
        content_type="application/merge-patch+json",
    )

    assert status == 200, patched
    assert patched["spec"]["targetCPUUtilizationPercentage"] == 65
    _, stored, _ = raw("GET", f"{v2}/jobs")
    assert stored["spec"]["metrics"] == [_cpu(65)]
