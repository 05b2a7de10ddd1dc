"""Contract: CSI volume snapshots as kubernetes-csi/external-snapshotter (v1 API, snapshot controller and
a CSI driver's snapshotter sidecar) and external-provisioner's restore from a VolumeSnapshot do them.

Upstream behaviours pinned here (external-snapshotter ``pkg/common-controller/snapshot_controller.go``):
a dynamically provisioned snapshot binds to a VolumeSnapshotContent named ``snapcontent-<snapshot uid>``
and reports ``boundVolumeSnapshotContentName``, ``creationTime``, ``restoreSize`` and ``readyToUse``; a
missing class is ``status.error`` "Failed to get snapshot class with error ..." and no content; deleting a
snapshot whose content has ``deletionPolicy: Delete`` deletes the content; a PVC with
``dataSource: {kind: VolumeSnapshot}`` is provisioned with the snapshot's data. All need the sandbox aid
``cluster.snapshots.install()`` (a real cluster needs the CRDs, the controller and a CSI driver).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Raw
from tests.sandbox.factories import eventually

SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1"


@pytest.fixture
def snapshots(sandbox: FakeCluster, raw: Raw) -> Iterator[FakeCluster]:
    """The sandbox with the snapshot CRDs and controller, a class ``csi-snap``; removed afterwards."""
    sandbox.snapshots.install()
    eventually(lambda: raw("GET", SNAPSHOTS)[0] == 200)
    status, body, _ = raw(
        "POST",
        f"{SNAPSHOTS}/volumesnapshotclasses",
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": "csi-snap"},
            "driver": "rancher.io/local-path",
            "deletionPolicy": "Delete",
        },
    )
    assert status == 201, body
    yield sandbox
    sandbox.snapshots.reset()
    for plural in ("volumesnapshotclasses", "volumesnapshots", "volumesnapshotcontents"):
        raw(
            "DELETE",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.snapshot.storage.k8s.io",
        )


def _claim(raw: Raw, ns: str, name: str, *, data_source: str | None = None) -> None:
    body: KubeObject = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "standard",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    if data_source is not None:
        body["spec"]["dataSource"] = {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": data_source,
        }
    status, answer, _ = raw("POST", f"/api/v1/namespaces/{ns}/persistentvolumeclaims", body)
    assert status == 201, answer


def _volume(sandbox: FakeCluster, raw: Raw, ns: str, claim: str) -> Path:
    def bound() -> str:
        body = raw("GET", f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")[1]
        return str((body.get("spec") or {}).get("volumeName") or "")

    return sandbox.kubelet.volume_dir(eventually(bound))


def _snapshot(raw: Raw, ns: str, name: str, claim: str, *, snapshot_class: str = "csi-snap") -> None:
    body = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name},
        "spec": {"volumeSnapshotClassName": snapshot_class, "source": {"persistentVolumeClaimName": claim}},
    }
    status, answer, _ = raw("POST", f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots", body)
    assert status == 201, answer


def _status(raw: Raw, ns: str, name: str) -> dict[str, Any]:
    return dict(raw("GET", f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/{name}")[1].get("status") or {})


def test_a_snapshot_binds_a_content_named_after_its_uid_and_becomes_ready(
    snapshots: FakeCluster, raw: Raw, ns: str
) -> None:
    """snapshot controller: dynamic content ``snapcontent-<uid>``; status bound, creationTime, ready."""
    _claim(raw, ns, "data")
    (_volume(snapshots, raw, ns, "data") / "f.txt").write_text("v1")
    _snapshot(raw, ns, "snap", "data")

    status = eventually(lambda: (s := _status(raw, ns, "snap")).get("readyToUse") and s)

    uid = raw("GET", f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/snap")[1]["metadata"]["uid"]
    assert status["boundVolumeSnapshotContentName"] == f"snapcontent-{uid}"
    assert status["creationTime"]
    assert status["restoreSize"] == "1Gi"
    content = raw("GET", f"{SNAPSHOTS}/volumesnapshotcontents/snapcontent-{uid}")[1]
    assert content["spec"]["volumeSnapshotRef"]["name"] == "snap"
    assert content["spec"]["deletionPolicy"] == "Delete"
    assert content["spec"]["driver"] == "rancher.io/local-path"


def test_ready_to_use_comes_after_the_configured_delay(snapshots: FakeCluster, raw: Raw, ns: str) -> None:
    """CSI drivers report readyToUse once the cut is uploaded: bound first, ready later."""
    snapshots.snapshots.ready_delay = 0.5
    _claim(raw, ns, "slow")
    _volume(snapshots, raw, ns, "slow")
    _snapshot(raw, ns, "later", "slow")

    bound = eventually(lambda: (s := _status(raw, ns, "later")).get("boundVolumeSnapshotContentName") and s)

    assert bound["readyToUse"] is False
    eventually(lambda: _status(raw, ns, "later").get("readyToUse"))


def test_a_snapshot_that_is_never_ready_stays_not_ready(snapshots: FakeCluster, raw: Raw, ns: str) -> None:
    """A driver that never finishes: ``readyToUse`` stays false (sandbox ``ready_delay=inf``)."""
    snapshots.snapshots.ready_delay = math.inf
    _claim(raw, ns, "stuck")
    _volume(snapshots, raw, ns, "stuck")
    _snapshot(raw, ns, "never", "stuck")

    status = eventually(lambda: (s := _status(raw, ns, "never")).get("boundVolumeSnapshotContentName") and s)

    assert status["readyToUse"] is False


def test_a_missing_class_is_a_status_error_and_no_content(snapshots: FakeCluster, raw: Raw, ns: str) -> None:
    """snapshot controller ``GetSnapshotClassFailed``: ``status.error.message`` names the class."""
    _claim(raw, ns, "orphan")
    _volume(snapshots, raw, ns, "orphan")
    _snapshot(raw, ns, "nowhere", "orphan", snapshot_class="no-such-class")

    status = eventually(lambda: (s := _status(raw, ns, "nowhere")).get("error") and s)

    assert status["error"]["message"].startswith("Failed to get snapshot class with error")
    assert "no-such-class" in status["error"]["message"]
    assert status["readyToUse"] is False
    assert "boundVolumeSnapshotContentName" not in status


def test_deleting_a_snapshot_deletes_its_delete_policy_content(
    snapshots: FakeCluster, raw: Raw, ns: str
) -> None:
    """``deletionPolicy: Delete``: the content (and the stored snapshot) go with the VolumeSnapshot."""
    _claim(raw, ns, "gone")
    _volume(snapshots, raw, ns, "gone")
    _snapshot(raw, ns, "short", "gone")
    content = eventually(lambda: _status(raw, ns, "short").get("boundVolumeSnapshotContentName"))

    raw("DELETE", f"{SNAPSHOTS}/namespaces/{ns}/volumesnapshots/short")

    eventually(lambda: raw("GET", f"{SNAPSHOTS}/volumesnapshotcontents/{content}")[0] == 404)


def test_a_claim_with_a_snapshot_data_source_starts_with_the_snapshot_data(
    snapshots: FakeCluster, raw: Raw, ns: str
) -> None:
    """external-provisioner: ``dataSource`` VolumeSnapshot → the new volume holds the snapshot's data,
    not what the source volume holds now."""
    _claim(raw, ns, "origin")
    origin = _volume(snapshots, raw, ns, "origin")
    (origin / "db").mkdir()
    (origin / "db" / "table").write_bytes(b"good rows")
    _snapshot(raw, ns, "good", "origin")
    eventually(lambda: _status(raw, ns, "good").get("readyToUse"))
    (origin / "db" / "table").write_bytes(b"corrupted")

    _claim(raw, ns, "restored", data_source="good")

    restored = _volume(snapshots, raw, ns, "restored")
    eventually((restored / "db" / "table").is_file)
    assert (restored / "db" / "table").read_bytes() == b"good rows"
