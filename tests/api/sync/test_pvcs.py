"""PVCs on DR: storage-class and access-mode mappings, volumeName cleared, volume attributes per
``preserveVolumeAttributes``, and an existing claim only ever grows."""

from __future__ import annotations

import json
from typing import Any

from drsyncer.labels import STORAGE_CLASS
from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import MERGE_PATCH, WriteOptions
from tests.api.sync.conftest import SyncWorld
from tests.factories import make_pvc

PVC = ("v1", "PersistentVolumeClaim")


def _storage_class(name: str) -> KubeObject:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "sandbox.dr-syncer.io/hostpath",
        "allowVolumeExpansion": True,
    }


def _spec(world: SyncWorld, name: str) -> dict[str, Any]:
    return dict(world.dr_object(*PVC, name)["spec"])


def _resize(world: SyncWorld, name: str, size: str, *, cluster: str) -> None:
    """Resize a claim as a user would (a merge patch from kubectl, not from dr-syncer)."""
    target, namespace = (
        (world.source, world.namespace) if cluster == "source" else (world.dr, world.destination_namespace)
    )
    resource = target.registry.by_kind("v1", "PersistentVolumeClaim")
    assert resource is not None
    patch = json.dumps({"spec": {"resources": {"requests": {"storage": size}}}}).encode()
    target.api.patch(resource, namespace, name, patch, MERGE_PATCH, WriteOptions(manager="kubectl-patch"))


def test_storage_class_is_mapped_and_the_label_wins(sync_world: SyncWorld) -> None:
    for name in ("fast", "gold"):
        sync_world.dr.create(_storage_class(name))
    sync_world.seed(
        make_pvc("mapped", volume_name=None, server_fields=False),
        make_pvc("labelled", volume_name=None, labels={STORAGE_CLASS: "gold"}, server_fields=False),
    )
    sync_world.configure(pvcConfig={"storageClassMappings": [{"from": "standard", "to": "fast"}]})

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert _spec(sync_world, "mapped")["storageClassName"] == "fast"
    assert _spec(sync_world, "labelled")["storageClassName"] == "gold"


def test_access_modes_are_mapped_once_without_cascading(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_pvc("single", volume_name=None, access_modes=["ReadWriteOnce"], server_fields=False),
        make_pvc("many", volume_name=None, access_modes=["ReadWriteMany"], server_fields=False),
    )
    sync_world.configure(
        pvcConfig={
            "accessModeMappings": [
                {"from": "ReadWriteOnce", "to": "ReadWriteMany"},
                {"from": "ReadWriteMany", "to": "ReadOnlyMany"},
            ]
        }
    )

    sync_world.sync()

    assert _spec(sync_world, "single")["accessModes"] == ["ReadWriteMany"]
    assert _spec(sync_world, "many")["accessModes"] == ["ReadOnlyMany"]


def test_volume_name_is_cleared_so_dr_provisions_its_own_volume(sync_world: SyncWorld) -> None:
    sync_world.seed(make_pvc("data", volume_name=None, server_fields=False))
    sync_world.source.settle()
    source_volume = sync_world.source_object(*PVC, "data")["spec"].get("volumeName")
    assert source_volume, "the source sandbox should have bound the claim"

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert _spec(sync_world, "data").get("volumeName") in (None, "")


def test_volume_attributes_are_dropped_by_default_but_block_stays_block(sync_world: SyncWorld) -> None:
    pvc = make_pvc("block", volume_name=None, volume_mode="Block", server_fields=False)
    pvc["spec"]["selector"] = {"matchLabels": {"disk": "ssd"}}
    sync_world.seed(pvc)

    sync_world.sync()

    spec = _spec(sync_world, "block")
    assert spec["volumeMode"] == "Block"
    assert "selector" not in spec


def test_volume_attributes_are_kept_with_preserve_volume_attributes(sync_world: SyncWorld) -> None:
    pvc = make_pvc("block", volume_name=None, volume_mode="Block", server_fields=False)
    pvc["spec"]["selector"] = {"matchLabels": {"disk": "ssd"}}
    sync_world.seed(pvc)
    sync_world.configure(pvcConfig={"preserveVolumeAttributes": True})

    sync_world.sync()

    spec = _spec(sync_world, "block")
    assert spec["volumeMode"] == "Block"
    assert spec["selector"] == {"matchLabels": {"disk": "ssd"}}


def test_existing_dr_claim_grows_with_the_source(sync_world: SyncWorld) -> None:
    sync_world.seed(make_pvc("data", storage="1Gi", volume_name=None, server_fields=False))
    sync_world.source.settle()
    sync_world.sync()
    sync_world.dr.settle()
    _resize(sync_world, "data", "2Gi", cluster="source")

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert _spec(sync_world, "data")["resources"]["requests"]["storage"] == "2Gi"


def test_existing_dr_claim_never_shrinks(sync_world: SyncWorld) -> None:
    sync_world.seed(make_pvc("data", storage="1Gi", volume_name=None, server_fields=False))
    sync_world.source.settle()
    sync_world.sync()
    sync_world.dr.settle()
    _resize(sync_world, "data", "5Gi", cluster="dr")

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert _spec(sync_world, "data")["resources"]["requests"]["storage"] == "5Gi"
