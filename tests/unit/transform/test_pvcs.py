"""PVC rules: storage class and access modes mapped, binding traces dropped, existing claims only grow."""

from __future__ import annotations

import pytest

from drsyncer.objects import KubeObject
from tasks.transform.pvcs import reconcile_pvc_with_live
from tasks.transform.runner import transform_object
from tests.factories import as_live, make_context, make_pvc

BIND_ANNOTATIONS = {
    "pv.kubernetes.io/bind-completed": "yes",
    "pv.kubernetes.io/bound-by-controller": "yes",
    "volume.kubernetes.io/selected-node": "node-1",
    "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
    "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
}


def test_storage_class_mapping_applies_first_match() -> None:
    ctx = make_context(storage_class_mappings=(("standard", "standard-dr"), ("standard", "other")))
    assert transform_object(make_pvc(), ctx).obj["spec"]["storageClassName"] == "standard-dr"


def test_storage_class_without_matching_mapping_is_kept() -> None:
    ctx = make_context(storage_class_mappings=(("premium", "premium-dr"),))
    assert transform_object(make_pvc(), ctx).obj["spec"]["storageClassName"] == "standard"


def test_storage_class_label_wins_over_mappings() -> None:
    ctx = make_context(storage_class_mappings=(("standard", "standard-dr"),))
    source = make_pvc(labels={"dr-syncer.io/storage-class": "fast-dr"})
    assert transform_object(source, ctx).obj["spec"]["storageClassName"] == "fast-dr"


def test_storage_class_label_applies_even_without_mappings() -> None:
    source = make_pvc(labels={"dr-syncer.io/storage-class": "fast-dr"})
    assert transform_object(source, make_context()).obj["spec"]["storageClassName"] == "fast-dr"


def test_claim_without_storage_class_stays_without_one() -> None:
    ctx = make_context(storage_class_mappings=(("standard", "standard-dr"),))
    assert "storageClassName" not in transform_object(make_pvc(storage_class=None), ctx).obj["spec"]


def test_access_mode_mappings_map_each_mode() -> None:
    ctx = make_context(access_mode_mappings=(("ReadWriteOnce", "ReadWriteMany"),))
    source = make_pvc(access_modes=["ReadWriteOnce", "ReadOnlyMany"])
    assert transform_object(source, ctx).obj["spec"]["accessModes"] == ["ReadWriteMany", "ReadOnlyMany"]


def test_access_mode_mappings_do_not_cascade() -> None:
    ctx = make_context(
        access_mode_mappings=(("ReadWriteOnce", "ReadWriteMany"), ("ReadWriteMany", "ReadOnlyMany"))
    )
    assert transform_object(make_pvc(), ctx).obj["spec"]["accessModes"] == ["ReadWriteMany"]


def test_access_mode_mappings_remove_duplicates() -> None:
    ctx = make_context(access_mode_mappings=(("ReadWriteOnce", "ReadWriteMany"),))
    source = make_pvc(access_modes=["ReadWriteOnce", "ReadWriteMany"])
    assert transform_object(source, ctx).obj["spec"]["accessModes"] == ["ReadWriteMany"]


def test_access_modes_unchanged_without_mappings() -> None:
    assert transform_object(make_pvc(), make_context()).obj["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_volume_name_is_cleared() -> None:
    assert "volumeName" not in transform_object(make_pvc(), make_context()).obj["spec"]


def test_volume_name_is_kept_with_sync_persistent_volumes() -> None:
    result = transform_object(make_pvc(), make_context(sync_persistent_volumes=True)).obj
    assert result["spec"]["volumeName"] == "pvc-3f2a"


def test_binding_and_provisioner_annotations_are_dropped_others_kept() -> None:
    source = make_pvc(annotations={**BIND_ANNOTATIONS, "backup": "daily"}, labels={"app": "db"})
    metadata = transform_object(source, make_context()).obj["metadata"]
    assert metadata["annotations"] == {"backup": "daily"}
    assert metadata["labels"] == {"app": "db"}


def test_volume_attributes_are_dropped_by_default_but_block_stays_block() -> None:
    source = make_pvc(volume_mode="Block")
    source["spec"]["selector"] = {"matchLabels": {"disk": "a"}}
    source["spec"]["dataSource"] = {
        "kind": "VolumeSnapshot",
        "name": "s",
        "apiGroup": "snapshot.storage.k8s.io",
    }
    source["spec"]["dataSourceRef"] = dict(source["spec"]["dataSource"])
    spec = transform_object(source, make_context()).obj["spec"]
    assert not {"selector", "dataSource", "dataSourceRef"} & set(spec)
    assert spec["volumeMode"] == "Block"


@pytest.mark.parametrize("flag", ["preserve_volume_attributes", "sync_persistent_volumes"])
def test_volume_attributes_are_kept_when_preserved(flag: str) -> None:
    source = make_pvc(volume_mode="Block")
    source["spec"]["selector"] = {"matchLabels": {"disk": "a"}}
    spec = transform_object(source, make_context(**{flag: True})).obj["spec"]
    assert spec["volumeMode"] == "Block"
    assert spec["selector"] == {"matchLabels": {"disk": "a"}}


def test_storage_request_is_copied() -> None:
    spec = transform_object(make_pvc(storage="25Gi"), make_context()).obj["spec"]
    assert spec["resources"] == {"requests": {"storage": "25Gi"}}


def _live_claim(storage: str) -> KubeObject:
    return as_live(make_pvc(storage=storage, storage_class="standard-dr", volume_name="pvc-dr-1"))


def test_existing_pvc_keeps_its_immutable_spec() -> None:
    desired = transform_object(make_pvc(storage_class="other"), make_context()).obj
    live = _live_claim("10Gi")
    result = reconcile_pvc_with_live(desired, live)
    assert result["spec"]["storageClassName"] == "standard-dr"
    assert result["spec"]["volumeName"] == "pvc-dr-1"
    assert result["spec"]["volumeMode"] == "Filesystem"


def test_existing_pvc_grows_when_the_source_grew() -> None:
    desired = make_pvc(storage="20Gi")
    assert (
        reconcile_pvc_with_live(desired, _live_claim("10Gi"))["spec"]["resources"]["requests"]["storage"]
        == "20Gi"
    )


@pytest.mark.parametrize(
    ("source", "live"), [("5Gi", "10Gi"), ("10G", "10Gi"), ("1024Mi", "1Gi"), ("500M", "0.5G")]
)
def test_existing_pvc_never_shrinks(source: str, live: str) -> None:
    result = reconcile_pvc_with_live(make_pvc(storage=source), _live_claim(live))
    assert result["spec"]["resources"]["requests"]["storage"] == live


def test_existing_pvc_grows_across_units() -> None:
    result = reconcile_pvc_with_live(make_pvc(storage="11G"), _live_claim("10Gi"))
    assert result["spec"]["resources"]["requests"]["storage"] == "11G"


def test_existing_pvc_labels_and_annotations_follow_the_source() -> None:
    desired = make_pvc(labels={"app": "db"}, annotations={"backup": "hourly"})
    live = _live_claim("10Gi")
    live["metadata"]["labels"] = {"app": "old"}
    result = reconcile_pvc_with_live(desired, live)
    assert result["metadata"]["labels"] == {"app": "db"}
    assert result["metadata"]["annotations"] == {"backup": "hourly"}


def test_reconcile_does_not_change_its_inputs() -> None:
    desired, live = make_pvc(storage="1Gi"), _live_claim("10Gi")
    desired_before, live_before = repr(desired), repr(live)
    reconcile_pvc_with_live(desired, live)
    assert (repr(desired), repr(live)) == (desired_before, live_before)
