"""Prune (opt-in): delete DR objects dr-syncer manages whose source is gone, nothing else; PVCs only with
``pvcConfig.prunePVCs``."""

from __future__ import annotations

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import SyncWorld, in_namespace, outcome_of
from tests.factories import make_configmap, make_pvc


def _delete_source(world: SyncWorld, api_version: str, kind: str, name: str) -> None:
    resource = world.source.registry.by_kind(api_version, kind)
    assert resource is not None
    world.source.store.remove(resource.key, world.source_object(api_version, kind, name))


def _create_in_dr(world: SyncWorld, obj: KubeObject) -> None:
    world.dr.create(in_namespace(obj, world.destination_namespace), manager="kubectl")


def test_prune_deletes_managed_objects_whose_source_is_gone(sync_world: SyncWorld) -> None:
    sync_world.seed(make_configmap("kept", server_fields=False), make_configmap("gone", server_fields=False))
    sync_world.configure(prune=True)
    sync_world.sync()
    _create_in_dr(sync_world, make_configmap("handmade", server_fields=False))
    _delete_source(sync_world, "v1", "ConfigMap", "gone")

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert outcome_of(report, "ConfigMap", "gone").status == "pruned"
    assert report.counts["pruned"] == 1
    assert sync_world.dr_get("v1", "ConfigMap", "gone") is None
    assert sync_world.dr_get("v1", "ConfigMap", "kept") is not None
    assert sync_world.dr_get("v1", "ConfigMap", "handmade") is not None


def test_without_prune_objects_whose_source_is_gone_stay(sync_world: SyncWorld) -> None:
    sync_world.seed(make_configmap("gone", server_fields=False))
    sync_world.sync()
    _delete_source(sync_world, "v1", "ConfigMap", "gone")
    sync_world.dr.audit.clear()

    report = sync_world.sync()

    assert sync_world.dr_get("v1", "ConfigMap", "gone") is not None
    assert outcome_of(report, "ConfigMap", "gone").status == "skipped"
    assert sync_world.dr.audit.mutations() == []


def test_pvcs_are_pruned_only_with_prune_pvcs(sync_world: SyncWorld) -> None:
    sync_world.seed(make_pvc("data", volume_name=None, server_fields=False))
    sync_world.configure(prune=True)
    sync_world.sync()
    _delete_source(sync_world, "v1", "PersistentVolumeClaim", "data")

    sync_world.sync()
    assert sync_world.dr_get("v1", "PersistentVolumeClaim", "data") is not None

    sync_world.configure(prune=True, pvcConfig={"prunePVCs": True})
    report = sync_world.sync()
    sync_world.dr.settle()

    assert outcome_of(report, "PersistentVolumeClaim", "data").status == "pruned"
    assert sync_world.dr_get("v1", "PersistentVolumeClaim", "data") is None
