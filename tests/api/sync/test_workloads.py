"""Workloads on DR: scaled to zero with their original count, overrides, CronJobs suspended, DaemonSets
parked."""

from __future__ import annotations

import pytest

from drsyncer.labels import ORIGINAL_REPLICAS, PARKED, SCALE_OVERRIDE, SOURCE_NAMESPACE
from tests.api.sync.conftest import SyncWorld
from tests.factories import make_cronjob, make_daemonset, make_deployment, make_statefulset


def test_deployment_is_scaled_to_zero_with_original_replicas_annotation(sync_world: SyncWorld) -> None:
    sync_world.seed(make_deployment("web", replicas=3, server_fields=False))

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    deployment = sync_world.dr_object("apps/v1", "Deployment", "web")
    assert deployment["spec"]["replicas"] == 0
    annotations = deployment["metadata"]["annotations"]
    assert annotations[ORIGINAL_REPLICAS] == "3"
    assert annotations[SOURCE_NAMESPACE] == sync_world.namespace


@pytest.mark.parametrize(("override", "expected"), [("true", 3), ("2", 2)])
def test_scale_override_keeps_the_count_or_sets_the_integer(
    sync_world: SyncWorld, override: str, expected: int
) -> None:
    sync_world.seed(
        make_deployment("web", replicas=3, labels={SCALE_OVERRIDE: override}, server_fields=False)
    )

    sync_world.sync()

    assert sync_world.dr_object("apps/v1", "Deployment", "web")["spec"]["replicas"] == expected


def test_scale_to_zero_false_keeps_the_source_count(sync_world: SyncWorld) -> None:
    sync_world.seed(make_deployment("web", replicas=4, server_fields=False))
    sync_world.configure(scaleToZero=False)

    sync_world.sync()

    assert sync_world.dr_object("apps/v1", "Deployment", "web")["spec"]["replicas"] == 4


def test_statefulset_is_scaled_to_zero(sync_world: SyncWorld) -> None:
    sync_world.seed(make_statefulset("db", replicas=2, server_fields=False))

    sync_world.sync()

    statefulset = sync_world.dr_object("apps/v1", "StatefulSet", "db")
    assert statefulset["spec"]["replicas"] == 0
    assert statefulset["metadata"]["annotations"][ORIGINAL_REPLICAS] == "2"


def test_cronjob_is_suspended_in_dr(sync_world: SyncWorld) -> None:
    sync_world.seed(make_cronjob("report", suspend=False, server_fields=False))

    sync_world.sync()

    assert sync_world.dr_object("batch/v1", "CronJob", "report")["spec"]["suspend"] is True
    assert sync_world.source_object("batch/v1", "CronJob", "report")["spec"]["suspend"] is False


def test_cronjob_with_scale_override_is_not_suspended(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_cronjob("report", suspend=False, labels={SCALE_OVERRIDE: "true"}, server_fields=False)
    )

    sync_world.sync()

    assert sync_world.dr_object("batch/v1", "CronJob", "report")["spec"].get("suspend") in (False, None)


def test_daemonset_is_parked_on_a_node_selector_no_node_has(sync_world: SyncWorld) -> None:
    sync_world.seed(make_daemonset("agent", node_selector={"disk": "ssd"}, server_fields=False))

    sync_world.sync()
    sync_world.dr.settle()

    daemonset = sync_world.dr_object("apps/v1", "DaemonSet", "agent")
    selector = daemonset["spec"]["template"]["spec"]["nodeSelector"]
    assert selector[PARKED] == "true"
    assert selector["disk"] == "ssd"
    assert (daemonset.get("status") or {}).get("desiredNumberScheduled", 0) == 0
