"""A change to a field DR cannot change in place (422 "field is immutable") follows
``immutableResourceConfig``: NoChange skips it with a Warning Event, Recreate re-creates the object."""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import SyncWorld, outcome_of
from tests.factories import make_configmap, make_deployment


def _recreate_source_with_new_selector(world: SyncWorld) -> None:
    """The source Deployment is deleted and created again with another selector (DR's copy cannot follow)."""
    resource = world.source.registry.by_kind("apps/v1", "Deployment")
    assert resource is not None
    world.source.store.remove(resource.key, world.source_object("apps/v1", "Deployment", "web"))
    deployment = make_deployment("web", replicas=2, server_fields=False)
    deployment["spec"]["selector"] = {"matchLabels": {"app": "web", "track": "v2"}}
    deployment["spec"]["template"]["metadata"]["labels"] = {"app": "web", "track": "v2"}
    world.seed(deployment)


def _events(world: SyncWorld) -> list[KubeObject]:
    return world.dr.objects("v1", "Event", world.destination_namespace)


def test_no_change_skips_the_object_and_leaves_the_dr_copy(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_deployment("web", replicas=2, server_fields=False),
        make_configmap("settings", server_fields=False),
    )
    sync_world.sync()
    _recreate_source_with_new_selector(sync_world)

    report = sync_world.sync()

    outcome = outcome_of(report, "Deployment", "web")
    assert outcome.status == "skipped"
    assert "immutable" in outcome.reason
    assert report.succeeded, report.failure_summary()
    selector = sync_world.dr_object("apps/v1", "Deployment", "web")["spec"]["selector"]
    assert selector == {"matchLabels": {"app": "web"}}


def test_no_change_records_a_warning_event(sync_world: SyncWorld) -> None:
    sync_world.seed(make_deployment("web", replicas=2, server_fields=False))
    sync_world.sync()
    _recreate_source_with_new_selector(sync_world)

    sync_world.sync()

    warnings = [e for e in _events(sync_world) if e.get("type") == "Warning"]
    assert [e["involvedObject"]["name"] for e in warnings] == ["web"]
    assert warnings[0]["reason"] == "ImmutableUpdateSkipped"


def test_recreate_replaces_the_dr_object(sync_world: SyncWorld) -> None:
    sync_world.seed(make_deployment("web", replicas=2, server_fields=False))
    sync_world.configure(immutableResourceConfig={"defaultHandling": "Recreate"})
    sync_world.sync()
    old_uid = sync_world.dr_object("apps/v1", "Deployment", "web")["metadata"]["uid"]
    _recreate_source_with_new_selector(sync_world)

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert outcome_of(report, "Deployment", "web").status == "synced"
    deployment = sync_world.dr_object("apps/v1", "Deployment", "web")
    assert deployment["metadata"]["uid"] != old_uid
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web", "track": "v2"}}
    assert deployment["spec"]["replicas"] == 0


def test_resource_override_recreates_an_immutable_configmap(sync_world: SyncWorld) -> None:
    settings = make_configmap("settings", data={"v": "1"}, server_fields=False)
    settings["immutable"] = True
    sync_world.seed(settings)
    sync_world.configure(immutableResourceConfig={"resourceOverrides": {"configmaps": "Recreate"}})
    sync_world.sync()
    resource = sync_world.source.registry.by_kind("v1", "ConfigMap")
    assert resource is not None
    sync_world.source.store.remove(resource.key, sync_world.source_object("v1", "ConfigMap", "settings"))
    settings["data"] = {"v": "2"}
    sync_world.seed(settings)

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert sync_world.dr_object("v1", "ConfigMap", "settings")["data"] == {"v": "2"}
