"""The pure parts of stopping and starting a side: recorded counts and the patches for each kind."""

from __future__ import annotations

from drsyncer import labels
from drsyncer.objects import KubeObject
from tasks.dr.workloads import at_rest_problems, record_patch, recorded_count, start_patch, stop_patch
from tests.factories import make_cronjob, make_daemonset, make_deployment, make_statefulset


def _annotated(obj: KubeObject, **annotations: str) -> KubeObject:
    obj["metadata"].setdefault("annotations", {}).update(annotations)
    return obj


def test_recorded_count_is_the_current_replicas() -> None:
    assert recorded_count(make_deployment(replicas=3)) == 3


def test_recorded_count_omitted_replicas_is_the_api_default_1() -> None:
    assert recorded_count(make_deployment(replicas=None)) == 1


def test_recorded_count_of_a_stopped_workload_keeps_the_earlier_record() -> None:
    stopped = _annotated(make_deployment(replicas=0), **{labels.ORIGINAL_REPLICAS: "4"})

    assert recorded_count(stopped) == 4


def test_recorded_count_of_a_running_workload_overwrites_an_old_record() -> None:
    running = _annotated(make_statefulset(replicas=2), **{labels.ORIGINAL_REPLICAS: "5"})

    assert recorded_count(running) == 2


def test_record_patch_writes_the_annotation_only_when_it_differs() -> None:
    deployment = make_deployment(replicas=3)

    assert record_patch(deployment, 3) == {"metadata": {"annotations": {labels.ORIGINAL_REPLICAS: "3"}}}
    assert record_patch(_annotated(deployment, **{labels.ORIGINAL_REPLICAS: "3"}), 3) is None


def test_stop_scales_deployments_and_statefulsets_to_zero() -> None:
    assert stop_patch(make_deployment(replicas=3)) == ({"spec": {"replicas": 0}}, "3 → 0")
    assert stop_patch(make_statefulset(replicas=0)) == (None, "unchanged")


def test_stop_suspends_a_cronjob_and_remembers_it_was_running() -> None:
    patch, change = stop_patch(make_cronjob(suspend=False))

    assert change == "suspended"
    assert patch == {
        "metadata": {"annotations": {labels.ORIGINAL_SUSPEND: "false"}},
        "spec": {"suspend": True},
    }


def test_stop_leaves_an_already_suspended_cronjob_alone() -> None:
    assert stop_patch(make_cronjob(suspend=True)) == (None, "unchanged")


def test_stop_parks_a_daemonset() -> None:
    patch, change = stop_patch(make_daemonset(node_selector={"disk": "ssd"}))

    assert change == "parked"
    assert patch == {"spec": {"template": {"spec": {"nodeSelector": {labels.PARKED: "true"}}}}}


def test_start_scales_to_the_given_count_before_the_annotation() -> None:
    deployment = _annotated(make_deployment("web", replicas=0), **{labels.ORIGINAL_REPLICAS: "2"})

    assert start_patch(deployment, {"Deployment/web": 5}) == ({"spec": {"replicas": 5}}, "0 → 5")
    assert start_patch(deployment, {}) == ({"spec": {"replicas": 2}}, "0 → 2")


def test_start_without_any_recorded_count_changes_nothing() -> None:
    assert start_patch(make_deployment("web", replicas=0), {}) == (None, "unchanged")


def test_start_resumes_a_cronjob_only_when_it_was_running_originally() -> None:
    was_running = _annotated(make_cronjob(suspend=True), **{labels.ORIGINAL_SUSPEND: "false"})
    was_suspended = _annotated(make_cronjob(suspend=True), **{labels.ORIGINAL_SUSPEND: "true"})
    unknown = make_cronjob(suspend=True)

    assert start_patch(was_running, {}) == ({"spec": {"suspend": False}}, "resumed")
    assert start_patch(was_suspended, {}) == (None, "unchanged")
    assert start_patch(unknown, {}) == (None, "unchanged")


def test_start_unparks_a_daemonset_by_removing_only_the_parked_key() -> None:
    parked = make_daemonset(node_selector={"disk": "ssd", labels.PARKED: "true"})

    patch, change = start_patch(parked, {})

    assert change == "unparked"
    assert patch == {"spec": {"template": {"spec": {"nodeSelector": {labels.PARKED: None}}}}}


def test_at_rest_names_each_running_workload_and_skips_overrides() -> None:
    running = make_deployment("web", replicas=2)
    overridden = make_deployment("api", replicas=2, labels={labels.SCALE_OVERRIDE: "2"})
    cronjob = make_cronjob(suspend=False)
    daemonset = make_daemonset()

    problems = at_rest_problems([running, overridden, cronjob, daemonset])

    assert problems == {
        "Deployment/web": "2 replicas",
        "CronJob/report": "not suspended",
        "DaemonSet/agent": "not parked",
    }
