"""Services on DR: a new clusterIP, nodePorts kept, headless stays headless; a taken nodePort fails only
that Service."""

from __future__ import annotations

from tests.api.sync.conftest import SyncWorld, outcome_of
from tests.factories import make_configmap, make_service


def test_service_gets_a_new_cluster_ip_in_dr(sync_world: SyncWorld) -> None:
    (stored,) = sync_world.seed(make_service("web", cluster_ip=None, server_fields=False))
    source_ip = stored["spec"]["clusterIP"]

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    service = sync_world.dr_object("v1", "Service", "web")
    assert service["spec"]["clusterIP"] not in ("", None, "None", source_ip)


def test_node_ports_are_kept(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30123, server_fields=False)
    )

    sync_world.sync()

    assert sync_world.dr_object("v1", "Service", "web")["spec"]["ports"][0]["nodePort"] == 30123


def test_headless_service_stays_headless(sync_world: SyncWorld) -> None:
    sync_world.seed(make_service("db", cluster_ip="None", server_fields=False))

    sync_world.sync()

    spec = sync_world.dr_object("v1", "Service", "db")["spec"]
    assert spec["clusterIP"] == "None"


def test_taken_node_port_fails_that_service_only_and_fails_the_run(sync_world: SyncWorld) -> None:
    sync_world.dr.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}},
    )
    sync_world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": "other"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30200}]},
        }
    )
    sync_world.seed(
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30200, server_fields=False),
        make_service("api", cluster_ip=None, service_type="NodePort", node_port=30201, server_fields=False),
        make_configmap("settings", server_fields=False),
    )

    report = sync_world.sync()

    assert not report.succeeded
    failed = outcome_of(report, "Service", "web")
    assert failed.status == "failed"
    assert "30200" in failed.error or "allocated" in failed.error
    assert [o.name for o in report.failed_objects] == ["web"]
    assert sync_world.dr_get("v1", "Service", "api") is not None
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
