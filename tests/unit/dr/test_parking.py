"""Cutover unparks what the sync parked (KEDA, workloadParking kinds, Jobs); failback parks it again."""

from __future__ import annotations

from typing import Any

from drsyncer.objects import KubeObject
from tasks.dr.parking import park_patch, unpark_patch
from tasks.dr.workloads import start_patch, stop_patch
from tasks.transform.context import KEDA_SCALED_OBJECT, WorkloadParking
from tasks.transform.runner import transform_object
from tests.factories import make_context, make_job

PAUSED = "autoscaling.keda.sh/paused-replicas"
ROLLOUT = WorkloadParking(group="argoproj.io", kind="Rollout", replicas_path=("spec", "replicas"))
CTX = make_context(workload_parking=(KEDA_SCALED_OBJECT, ROLLOUT))


def _scaled_object(annotations: dict[str, str] | None = None) -> KubeObject:
    metadata: dict[str, Any] = {"name": "worker", "namespace": "shop"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": metadata, "spec": {}}


def _merged(obj: KubeObject, patch: dict[str, Any]) -> KubeObject:
    """``obj`` after a JSON merge patch (null removes)."""

    def merge(target: Any, change: Any) -> Any:
        if not isinstance(change, dict):
            return change
        result = dict(target) if isinstance(target, dict) else {}
        for key, value in change.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merge(result.get(key), value)
        return result

    merged: KubeObject = merge(obj, patch)
    return merged


def test_cutover_removes_the_keda_pause_the_sync_added() -> None:
    parked = transform_object(_scaled_object(), CTX).obj
    patch, change = unpark_patch(parked, KEDA_SCALED_OBJECT)
    assert patch is not None
    assert change == "resumed"
    assert not _merged(parked, patch)["metadata"].get("annotations")


def test_cutover_restores_a_pause_the_source_had() -> None:
    parked = transform_object(_scaled_object({PAUSED: "2"}), CTX).obj
    patch, _ = unpark_patch(parked, KEDA_SCALED_OBJECT)
    assert patch is not None
    assert _merged(parked, patch)["metadata"]["annotations"] == {PAUSED: "2"}


def test_failback_parks_again_and_a_second_cutover_restores() -> None:
    parked = transform_object(_scaled_object(), CTX).obj
    started = _merged(parked, unpark_patch(parked, KEDA_SCALED_OBJECT)[0] or {})
    patch, change = park_patch(started, KEDA_SCALED_OBJECT)
    assert patch is not None
    assert change == "paused"
    reparked = _merged(started, patch)
    assert reparked["metadata"]["annotations"][PAUSED] == "0"
    assert park_patch(reparked, KEDA_SCALED_OBJECT) == (None, "unchanged")
    restored = _merged(reparked, unpark_patch(reparked, KEDA_SCALED_OBJECT)[0] or {})
    assert PAUSED not in (restored["metadata"].get("annotations") or {})


def test_replica_field_is_restored_at_cutover_and_zeroed_at_failback() -> None:
    source: KubeObject = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {"replicas": 4},
    }
    parked = transform_object(source, CTX).obj
    patch, change = unpark_patch(parked, ROLLOUT)
    assert patch == {"spec": {"replicas": 4}}
    assert change == "spec.replicas 0 → 4"
    started = _merged(parked, patch)
    assert unpark_patch(started, ROLLOUT) == (None, "unchanged")
    park, _ = park_patch(started, ROLLOUT)
    assert park == {
        "spec": {"replicas": 0},
        "metadata": {"annotations": {"dr-syncer.io/original-replicas": "4"}},
    }


def test_unsuspended_source_job_is_resumed_at_cutover() -> None:
    dr_job = transform_object(make_job(), make_context()).obj
    dr_job["kind"] = "Job"
    assert start_patch(dr_job, {}) == ({"spec": {"suspend": False}}, "resumed")


def test_job_suspended_at_the_source_stays_suspended_at_cutover() -> None:
    source = make_job()
    source["spec"]["suspend"] = True
    dr_job = transform_object(source, make_context()).obj
    assert start_patch(dr_job, {}) == (None, "unchanged")


def test_failback_suspends_a_running_job() -> None:
    running = make_job()
    running["spec"]["suspend"] = False
    patch, change = stop_patch(running)
    assert change == "suspended"
    assert patch == {
        "metadata": {"annotations": {"dr-syncer.io/original-suspend": "false"}},
        "spec": {"suspend": True},
    }
