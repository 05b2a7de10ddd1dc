"""The namespace-sync flow on a real Prefect server: its state, its report, and the same guarantees as the
plain engine (zero writes on a no-op re-sync, one failing object fails the run but not the others)."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.client.schemas.objects import State

from flows.namespace_sync import namespace_sync
from tests.api.sync.conftest import MAPPING, SyncWorld, unique_namespace
from tests.api.sync.test_idempotence import seed_realistic_namespace
from tests.factories import make_configmap, make_service

pytestmark = pytest.mark.usefixtures("prefect_server")


def _run(world: SyncWorld, *, plan_only: bool = False) -> tuple[State, dict[str, Any]]:
    world.mapping()  # writes the configuration if the test did not
    state = namespace_sync(
        mapping=MAPPING, config=[str(world.config_path)], plan_only=plan_only, return_state=True
    )
    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    return state, report


def test_flow_syncs_the_namespace_and_a_rerun_sends_zero_mutating_requests(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["phase"] == "Completed"
    assert report["counts"]["failed"] == 0
    assert report["counts"]["created"] >= 15
    assert sync_world.dr_get("apps/v1", "Deployment", "web") is not None

    sync_world.dr.settle()
    sync_world.dr.audit.clear()
    sync_world.source.audit.clear()
    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["counts"]["created"] == report["counts"]["updated"] == 0
    assert [(m.method, m.path) for m in sync_world.dr.audit.mutations()] == []
    assert [(m.method, m.path) for m in sync_world.source.audit.mutations()] == []


def test_flow_fails_when_one_object_fails_but_syncs_the_others(sync_world: SyncWorld) -> None:
    sync_world.dr.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    sync_world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": "other"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30300}]},
        }
    )
    sync_world.seed(
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30300, server_fields=False),
        make_configmap("settings", server_fields=False),
    )

    state, report = _run(sync_world)

    assert state.is_failed()
    assert "Service/web" in (state.message or "")
    assert report["phase"] == "Failed"
    assert report["counts"]["failed"] == 1
    failed = [o for o in report["objects"] if o["status"] == "failed"]
    assert [(o["kind"], o["name"]) for o in failed] == [("Service", "web")]
    assert failed[0]["error"]
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None


def test_flow_reports_a_missing_source_namespace_and_creates_nothing(sync_world: SyncWorld) -> None:
    sync_world.namespace = sync_world.destination_namespace = unique_namespace("missing")
    sync_world.configure()
    sync_world.dr.audit.clear()

    state, report = _run(sync_world)

    assert state.is_failed()
    assert report["phase"] == "Failed"
    assert sync_world.namespace in report["error"]
    assert sync_world.dr.audit.mutations() == []


def test_flow_in_plan_mode_sends_zero_mutating_requests(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)
    sync_world.dr.audit.clear()
    sync_world.source.audit.clear()

    state, report = _run(sync_world, plan_only=True)

    assert state.is_completed(), report
    assert {o["action"] for o in report["objects"]} >= {"create"}
    assert sync_world.dr.audit.mutations() == []
    assert sync_world.source.audit.mutations() == []


def test_flow_fails_without_writes_when_dr_namespace_is_missing_and_creation_is_off(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(make_configmap("settings", server_fields=False))
    sync_world.configure(namespaceConfig={"createNamespace": False})
    sync_world.dr.audit.clear()

    state, report = _run(sync_world)

    assert state.is_failed()
    (failed,) = [o for o in report["objects"] if o["status"] == "failed"]
    assert failed["kind"] == "Namespace"
    assert "createNamespace" in failed["error"]
    assert sync_world.dr.audit.mutations() == []
