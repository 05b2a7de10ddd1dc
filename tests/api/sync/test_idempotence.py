"""Writes only when needed: a re-sync with nothing changed, and ``plan``, send zero mutating requests;
the source cluster is never written to."""

from __future__ import annotations

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import WriteOptions
from drsyncer.sandbox.audit import AuditEntry
from tests.api.sync.conftest import SyncWorld
from tests.factories import (
    make_configmap,
    make_cronjob,
    make_daemonset,
    make_deployment,
    make_ingress,
    make_pvc,
    make_secret,
    make_service,
    make_service_account,
    make_statefulset,
)


def _rbac_and_policies() -> list[KubeObject]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "app-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "app"}],
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny-all"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1,
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 80},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
    ]


def seed_realistic_namespace(world: SyncWorld) -> None:
    """A web app with a database: every default kind, as a user would have it."""
    world.seed(
        make_service_account("app", server_fields=False),
        *_rbac_and_policies(),
        make_configmap("settings", server_fields=False),
        make_secret("credentials", server_fields=False),
        make_pvc("data", volume_name=None, server_fields=False),
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30080, server_fields=False),
        make_service("db", cluster_ip="None", server_fields=False),
        make_deployment("web", replicas=2, env=[{"name": "MODE", "value": "dr"}], server_fields=False),
        make_statefulset("db", replicas=1, server_fields=False),
        make_daemonset("agent", server_fields=False),
        make_cronjob("report", server_fields=False),
        make_ingress("web", annotations={"kubernetes.io/tls-acme": "true"}, server_fields=False),
    )
    world.source.settle()


def _describe(entries: list[AuditEntry]) -> list[str]:
    return [f"{entry.method} {entry.path} -> {entry.status}" for entry in entries]


def test_resync_with_nothing_changed_sends_zero_mutating_requests(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)
    first = sync_world.sync()
    assert first.succeeded, first.failure_summary()
    assert first.counts["created"] >= 15
    sync_world.dr.settle()  # DR controllers bind the claim, create pods, write status
    sync_world.dr.audit.clear()
    sync_world.source.audit.clear()

    second = sync_world.sync()

    assert second.succeeded, second.failure_summary()
    assert _describe(sync_world.dr.audit.mutations()) == []
    assert _describe(sync_world.source.audit.mutations()) == []
    assert second.counts["created"] == second.counts["updated"] == 0


def test_plan_sends_zero_mutating_requests(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)
    sync_world.dr.audit.clear()

    plan = sync_world.plan()

    assert {entry.action for entry in plan.entries} >= {"create"}
    assert _describe(sync_world.dr.audit.mutations()) == []
    assert _describe(sync_world.source.audit.mutations()) == []
    assert sync_world.dr.get("v1", "Namespace", sync_world.destination_namespace) is None


def test_plan_after_a_sync_reports_every_object_unchanged(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)
    sync_world.sync()
    sync_world.dr.settle()

    plan = sync_world.plan()

    changed = [
        (e.kind, e.name, e.action, e.diff) for e in plan.all_entries if e.action not in ("unchanged", "skip")
    ]
    assert changed == []


def test_sync_never_sends_a_mutating_request_to_the_source_cluster(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)
    sync_world.source.audit.clear()

    sync_world.sync()
    sync_world.dr.settle()
    sync_world.sync()

    assert _describe(sync_world.source.audit.mutations()) == []


def test_a_one_object_change_writes_only_that_object(sync_world: SyncWorld) -> None:
    seed_realistic_namespace(sync_world)
    sync_world.sync()
    sync_world.dr.settle()
    settings = sync_world.source_object("v1", "ConfigMap", "settings")
    settings["data"] = {"mode": "maintenance"}
    sync_world.replace_source(settings)
    sync_world.dr.audit.clear()

    report = sync_world.sync()

    assert report.counts["updated"] == 1
    mutations = sync_world.dr.audit.mutations()
    assert [(m.method, m.path.rsplit("/", 2)[-2:]) for m in mutations] == [
        ("PATCH", ["configmaps", "settings"])
    ]
    assert sync_world.dr_object("v1", "ConfigMap", "settings")["data"] == {"mode": "maintenance"}


def test_hand_edits_in_dr_are_taken_back_by_the_next_sync(sync_world: SyncWorld) -> None:
    sync_world.seed(make_deployment("web", server_fields=False))
    sync_world.sync()
    edited = sync_world.dr_object("apps/v1", "Deployment", "web")
    edited["spec"]["replicas"] = 5
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:hotfix"
    resource = sync_world.dr.registry.by_kind("apps/v1", "Deployment")
    assert resource is not None
    sync_world.dr.api.replace(
        resource, sync_world.destination_namespace, "web", edited, WriteOptions(manager="kubectl-edit")
    )

    plan = sync_world.plan()
    report = sync_world.sync()

    (entry,) = [e for e in plan.entries if e.kind == "Deployment"]
    assert entry.action == "update"
    assert {d.path for d in entry.diff} == {"spec.replicas", "spec.template.spec.containers[0].image"}
    assert report.succeeded, report.failure_summary()
    deployment = sync_world.dr_object("apps/v1", "Deployment", "web")
    assert deployment["spec"]["replicas"] == 0
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
