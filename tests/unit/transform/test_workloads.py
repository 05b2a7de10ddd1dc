"""Workload rules: DR-Syncer's scale semantics, suspended CronJobs, parked DaemonSets."""

from __future__ import annotations

import pytest

from drsyncer.objects import KubeObject
from tasks.transform.runner import transform_object
from tests.factories import (
    SOURCE_NS,
    make_context,
    make_cronjob,
    make_daemonset,
    make_deployment,
    make_replicaset,
    make_statefulset,
)

CTX = make_context()
OVERRIDE = "dr-syncer.io/scale-override"


def _annotations(obj: KubeObject) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def test_scale_to_zero_sets_replicas_to_zero_and_records_source_count() -> None:
    result = transform_object(make_deployment(replicas=3), CTX).obj
    assert result["spec"]["replicas"] == 0
    assert _annotations(result) == {
        "dr-syncer.io/original-replicas": "3",
        "dr-syncer.io/source-namespace": SOURCE_NS,
    }


def test_without_scale_to_zero_keeps_source_replicas() -> None:
    result = transform_object(make_deployment(replicas=3), make_context(scale_to_zero=False)).obj
    assert result["spec"]["replicas"] == 3
    assert _annotations(result)["dr-syncer.io/original-replicas"] == "3"


def test_scale_override_true_keeps_source_replicas() -> None:
    result = transform_object(make_deployment(replicas=3, labels={OVERRIDE: "true"}), CTX).obj
    assert result["spec"]["replicas"] == 3


def test_scale_override_integer_sets_replicas() -> None:
    result = transform_object(make_deployment(replicas=3, labels={OVERRIDE: "2"}), CTX).obj
    assert result["spec"]["replicas"] == 2
    assert _annotations(result)["dr-syncer.io/original-replicas"] == "3"


def test_scale_override_zero_sets_zero_even_without_scale_to_zero() -> None:
    ctx = make_context(scale_to_zero=False)
    assert (
        transform_object(make_deployment(replicas=3, labels={OVERRIDE: "0"}), ctx).obj["spec"]["replicas"]
        == 0
    )


@pytest.mark.parametrize("value", ["-1", "two", "", "1.5"])
def test_scale_override_non_integer_or_negative_keeps_source_replicas(value: str) -> None:
    result = transform_object(make_deployment(replicas=4, labels={OVERRIDE: value}), CTX).obj
    assert result["spec"]["replicas"] == 4


def test_scale_override_label_stays_on_the_dr_copy() -> None:
    result = transform_object(make_deployment(labels={OVERRIDE: "2"}), CTX).obj
    assert result["metadata"]["labels"] == {OVERRIDE: "2"}


def test_unset_replicas_are_recorded_as_one() -> None:
    result = transform_object(make_deployment(replicas=None), CTX).obj
    assert result["spec"]["replicas"] == 0
    assert _annotations(result)["dr-syncer.io/original-replicas"] == "1"


def test_unset_replicas_stay_unset_when_keeping_the_source_count() -> None:
    result = transform_object(make_deployment(replicas=None), make_context(scale_to_zero=False)).obj
    assert "replicas" not in result["spec"]


def test_statefulsets_are_scaled_like_deployments() -> None:
    result = transform_object(make_statefulset(replicas=5), CTX).obj
    assert result["spec"]["replicas"] == 0
    assert _annotations(result)["dr-syncer.io/original-replicas"] == "5"


def test_replicasets_are_scaled_like_deployments() -> None:
    assert transform_object(make_replicaset(replicas=2), CTX).obj["spec"]["replicas"] == 0


def test_stale_original_replicas_on_a_source_is_refreshed() -> None:
    source = make_deployment(replicas=5, annotations={"dr-syncer.io/original-replicas": "3"})
    assert _annotations(transform_object(source, CTX).obj)["dr-syncer.io/original-replicas"] == "5"


def test_workload_spec_other_than_replicas_is_copied() -> None:
    source = make_deployment()
    result = transform_object(source, CTX).obj
    assert {k: v for k, v in result["spec"].items() if k != "replicas"} == {
        k: v for k, v in source["spec"].items() if k != "replicas"
    }


def test_cronjob_is_suspended_and_records_its_source_state() -> None:
    result = transform_object(make_cronjob(suspend=False), CTX).obj
    assert result["spec"]["suspend"] is True
    assert _annotations(result) == {
        "dr-syncer.io/source-namespace": SOURCE_NS,
        "dr-syncer.io/original-suspend": "false",
    }


def test_cronjob_already_suspended_at_source_records_true() -> None:
    result = transform_object(make_cronjob(suspend=True), CTX).obj
    assert _annotations(result)["dr-syncer.io/original-suspend"] == "true"


def test_cronjob_with_scale_override_is_not_suspended() -> None:
    result = transform_object(make_cronjob(suspend=None, labels={OVERRIDE: "true"}), CTX).obj
    assert "suspend" not in result["spec"]
    assert _annotations(result) == {"dr-syncer.io/source-namespace": SOURCE_NS}


def test_daemonset_is_parked_with_a_node_selector() -> None:
    result = transform_object(make_daemonset(node_selector={"disk": "ssd"}), CTX).obj
    assert result["spec"]["template"]["spec"]["nodeSelector"] == {
        "disk": "ssd",
        "dr-syncer.io/parked": "true",
    }
    assert _annotations(result) == {"dr-syncer.io/source-namespace": SOURCE_NS}


def test_daemonset_with_scale_override_is_not_parked() -> None:
    result = transform_object(make_daemonset(labels={OVERRIDE: "true"}), CTX).obj
    assert "nodeSelector" not in result["spec"]["template"]["spec"]
