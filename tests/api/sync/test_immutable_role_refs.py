"""A RoleBinding whose source roleRef changed (DR answers 422 "cannot change roleRef") follows
``immutableResourceConfig`` like any immutable field: NoChange skips it, Recreate and PartialUpdate act."""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import SyncWorld, outcome_of

RBAC = "rbac.authorization.k8s.io"


def _binding(role: str) -> KubeObject:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "app", "labels": {"tier": "one"}},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "app"}],
    }


def _rebind(world: SyncWorld, role: str, *, labels: dict[str, str] | None = None) -> None:
    """The source binding is deleted and created again pointing at ``role`` (as users must do)."""
    resource = world.source.registry.by_kind(f"{RBAC}/v1", "RoleBinding")
    assert resource is not None
    world.source.store.remove(resource.key, world.source_object(f"{RBAC}/v1", "RoleBinding", "app"))
    binding = _binding(role)
    if labels is not None:
        binding["metadata"]["labels"] = labels
    world.seed(binding)


def _dr_binding(world: SyncWorld) -> KubeObject:
    return world.dr_object(f"{RBAC}/v1", "RoleBinding", "app")


def test_no_change_leaves_the_dr_binding_and_says_why(sync_world: SyncWorld) -> None:
    sync_world.seed(_binding("view"))
    sync_world.sync()
    _rebind(sync_world, "edit")

    report = sync_world.sync()

    outcome = outcome_of(report, "RoleBinding", "app")
    assert report.succeeded, report.failure_summary()
    assert outcome.status == "skipped"
    assert "cannot change roleRef" in outcome.reason
    assert _dr_binding(sync_world)["roleRef"]["name"] == "view"


def test_recreate_override_rebinds_in_dr(sync_world: SyncWorld) -> None:
    sync_world.seed(_binding("view"))
    sync_world.configure(immutableResourceConfig={"resourceOverrides": {f"rolebindings.{RBAC}": "Recreate"}})
    sync_world.sync()
    old_uid = _dr_binding(sync_world)["metadata"]["uid"]
    _rebind(sync_world, "edit")

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert outcome_of(report, "RoleBinding", "app").status == "synced"
    binding = _dr_binding(sync_world)
    assert binding["roleRef"]["name"] == "edit"
    assert binding["metadata"]["uid"] != old_uid


def test_partial_update_keeps_the_dr_role_ref_and_applies_the_rest(sync_world: SyncWorld) -> None:
    sync_world.seed(_binding("view"))
    sync_world.configure(immutableResourceConfig={"defaultHandling": "PartialUpdate"})
    sync_world.sync()
    _rebind(sync_world, "edit", labels={"tier": "two"})

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    binding = _dr_binding(sync_world)
    assert binding["roleRef"]["name"] == "view"
    assert binding["metadata"]["labels"] == {"tier": "two"}
