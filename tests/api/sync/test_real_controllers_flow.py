"""The namespace-sync flow on a real Prefect server against clusters that run real controllers: a
namespace as production has it (rolled-out Deployments, a mesh webhook in DR, KEDA, a retained claim,
Jobs, per-cluster CA bundles) is copied at rest, and the re-sync sends zero mutating requests."""

from __future__ import annotations

import pytest

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import SyncWorld
from tests.api.sync.test_flow import _run
from tests.api.sync.test_real_controllers import (
    PAUSED,
    bare_job,
    dr_pods,
    retained_statefulset,
    roll_out,
    scaled_object_for,
)
from tests.factories import make_deployment

pytestmark = pytest.mark.usefixtures("prefect_server")


def _outcome(report: dict[str, object], kind: str, name: str) -> dict[str, object]:
    objects = report["objects"]
    assert isinstance(objects, list)
    found: KubeObject = next(item for item in objects if item["kind"] == kind and item["name"] == name)
    return found


def test_flow_copies_a_real_cluster_namespace_at_rest_and_resyncs_with_zero_writes(
    sync_world: SyncWorld,
) -> None:
    for cluster in (sync_world.source, sync_world.dr):
        cluster.keda.install()
        cluster.identity.enable_istio_ca()
    sync_world.dr.admission.add_sidecar({"name": "istio-proxy", "image": "istio/proxyv2:1.24"})
    sync_world.configure(resourceTypes=["*", "jobs"], namespaceScopedResources=["scaledobjects.keda.sh"])
    sync_world.seed(make_deployment("web", replicas=2, server_fields=False), scaled_object_for("web"))
    sync_world.seed(retained_statefulset())
    sync_world.source.settle()
    roll_out(sync_world, "web", ["nginx:1.28", "nginx:1.29"])
    sync_world.seed(bare_job("backfill"))

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert _outcome(report, "PersistentVolumeClaim", "data-db-0")["status"] == "synced"
    assert _outcome(report, "ConfigMap", "istio-ca-root-cert")["status"] == "skipped"
    assert sync_world.dr_object("batch/v1", "Job", "backfill")["spec"]["suspend"] is True
    scaled_object = sync_world.dr_object("keda.sh/v1alpha1", "ScaledObject", "web")
    assert scaled_object["metadata"]["annotations"][PAUSED] == "0"

    sync_world.dr.settle()
    assert dr_pods(sync_world) == []
    sync_world.dr.audit.clear()
    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["counts"]["created"] == report["counts"]["updated"] == 0
    assert [(entry.method, entry.path) for entry in sync_world.dr.audit.mutations()] == []
