"""CSI volume snapshots (``snapshot.storage.k8s.io/v1``) — optional, installed per cluster.

``cluster.snapshots.install(ready_delay=0.0)`` creates the three CRDs of kubernetes-csi/external-snapshotter
(VolumeSnapshotClass, VolumeSnapshot, VolumeSnapshotContent; cluster-scoped class and content, namespaced
snapshot, status subresources) and starts the controller; ``reset()`` turns it off (the cluster's reset
drops the CRDs). As the common snapshot controller plus a CSI driver's snapshotter sidecar:

- a VolumeSnapshot with ``spec.source.persistentVolumeClaimName`` gets a dynamically created
  VolumeSnapshotContent ``snapcontent-<snapshot uid>`` (``spec.volumeSnapshotRef``, ``source.volumeHandle``,
  ``driver``, ``deletionPolicy`` and ``volumeSnapshotClassName`` from the class), the "driver" cuts the
  snapshot — here a copy of the PV's backing directory to ``<node root>/snapshots/<content>`` — and the
  snapshot's status gets ``boundVolumeSnapshotContentName``, ``creationTime``, ``restoreSize`` and
  ``readyToUse: false``; ``readyToUse`` turns true ``ready_delay`` seconds later (a real driver uploads;
  ``math.inf`` = never);
- a class that does not exist (or no class and no default class) leaves the snapshot unbound with
  ``status.error.message`` ``Failed to get snapshot class with error ...`` and ``readyToUse: false``, as
  the snapshot controller's ``GetSnapshotClassFailed``;
- deleting a snapshot deletes its content (and the copy) when the policy is ``Delete``; ``Retain`` keeps it;
- a PVC whose ``spec.dataSource`` names a ready VolumeSnapshot of its namespace is filled from the
  snapshot's copy once the provisioner has created its PV (external-provisioner's restore).

Contract: ``tests/sandbox/test_snapshots.py``.
"""

from __future__ import annotations

import copy
import math
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api

GROUP = "snapshot.storage.k8s.io"
VERSION = "v1"
CLASSES = (GROUP, "volumesnapshotclasses")
SNAPSHOTS = (GROUP, "volumesnapshots")
CONTENTS = (GROUP, "volumesnapshotcontents")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
MANAGER = "snapshot-controller"
DEFAULT_CLASS = "snapshot.storage.kubernetes.io/is-default-class"
RESTORED_FROM = "sandbox.dr-syncer.io/restored-from"
"""Annotation the sandbox puts on a PV it filled from a snapshot (so it fills it once)."""

_KINDS = (
    ("VolumeSnapshotClass", "volumesnapshotclasses", "Cluster", ["vsclass", "vsclasses"]),
    ("VolumeSnapshot", "volumesnapshots", "Namespaced", ["vs"]),
    ("VolumeSnapshotContent", "volumesnapshotcontents", "Cluster", ["vsc", "vscs"]),
)


def snapshot_crds() -> list[KubeObject]:
    """The three CRDs of external-snapshotter (v1 served and stored; permissive schemas)."""
    crds: list[KubeObject] = []
    for kind, plural, scope, short in _KINDS:
        version: dict[str, Any] = {
            "name": VERSION,
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }
        if kind != "VolumeSnapshotClass":
            version["subresources"] = {"status": {}}
        crds.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.{GROUP}"},
                "spec": {
                    "group": GROUP,
                    "scope": scope,
                    "names": {
                        "plural": plural,
                        "singular": kind.lower(),
                        "kind": kind,
                        "listKind": f"{kind}List",
                        "shortNames": short,
                    },
                    "versions": [version],
                },
            }
        )
    return crds


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Snapshots:
    """The optional snapshot controller and CSI snapshotter of one cluster."""

    def __init__(self, api: Api, *, volume_dir: Any, snapshot_root: Path) -> None:
        self.api = api
        self._volume_dir = volume_dir
        self.snapshot_root = snapshot_root
        self.installed = False
        self.ready_delay = 0.0
        self._timers: list[threading.Timer] = []

    def install(self, *, ready_delay: float = 0.0) -> Snapshots:
        """Create the CRDs (if absent) and start reconciling; ``ready_delay`` = seconds until readyToUse."""
        resource = self.api.registry.by_key(CRDS)
        assert resource is not None
        for crd in snapshot_crds():
            if self.api.store.get(CRDS, "", crd["metadata"]["name"]) is None:
                self.api.create_internal(resource, crd, manager="helm")
        self.installed = True
        self.ready_delay = ready_delay
        return self

    def reset(self) -> None:
        """Uninstalled, pending readiness forgotten, copies removed (the cluster's reset drops the CRDs)."""
        self.installed = False
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        shutil.rmtree(self.snapshot_root, ignore_errors=True)

    def reconcile(self) -> None:
        """One pass: bind and cut new snapshots, delete orphaned contents, fill claims restored from one."""
        if not self.installed or self.api.registry.by_key(SNAPSHOTS) is None:
            return
        for snapshot in self.api.store.list(SNAPSHOTS):
            if not (snapshot.get("status") or {}).get("boundVolumeSnapshotContentName"):
                self._cut(snapshot)
        self._delete_orphaned_contents()
        self._restore_claims()

    # ------------------------------------------------------------ snapshots

    def _class_for(self, snapshot: KubeObject) -> KubeObject | str:
        name = (snapshot.get("spec") or {}).get("volumeSnapshotClassName")
        classes = self.api.store.list(CLASSES)
        if name:
            found = next((c for c in classes if c["metadata"]["name"] == name), None)
            if found is not None:
                return found
            return (
                f"Failed to get snapshot class with error failed to retrieve snapshot class {name} from the "
                f'informer: "volumesnapshotclass.snapshot.storage.k8s.io \\"{name}\\" not found"'
            )
        defaults = [
            c for c in classes if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
        ]
        if len(defaults) == 1:
            return defaults[0]
        return "Failed to get snapshot class with error cannot find default snapshot class"

    def _cut(self, snapshot: KubeObject) -> None:
        metadata = snapshot["metadata"]
        if metadata.get("deletionTimestamp"):
            return
        chosen = self._class_for(snapshot)
        if isinstance(chosen, str):
            self._write_status(snapshot, {"readyToUse": False, "error": {"message": chosen, "time": _now()}})
            return
        claim_name = ((snapshot.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName")
        claim = self.api.store.get(("", "persistentvolumeclaims"), metadata["namespace"], str(claim_name))
        pv_name = ((claim or {}).get("spec") or {}).get("volumeName")
        pv = self.api.store.get(("", "persistentvolumes"), "", str(pv_name)) if pv_name else None
        if pv is None:
            message = f"Failed to create snapshot: the source PVC {claim_name} is not bound or does not exist"
            self._write_status(snapshot, {"readyToUse": False, "error": {"message": message, "time": _now()}})
            return
        content_name = f"snapcontent-{metadata['uid']}"
        copy_dir = self.snapshot_root / content_name
        shutil.rmtree(copy_dir, ignore_errors=True)
        self.snapshot_root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self._volume_dir(str(pv_name)), copy_dir, symlinks=True)
        created = _now()
        ready = self.ready_delay <= 0
        content: KubeObject = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "VolumeSnapshotContent",
            "metadata": {"name": content_name, "annotations": {"sandbox.dr-syncer.io/path": str(copy_dir)}},
            "spec": {
                "deletionPolicy": chosen.get("deletionPolicy", "Delete"),
                "driver": chosen.get("driver", ""),
                "source": {"volumeHandle": ((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle", "")},
                "volumeSnapshotClassName": chosen["metadata"]["name"],
                "volumeSnapshotRef": {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "VolumeSnapshot",
                    "name": metadata["name"],
                    "namespace": metadata["namespace"],
                    "uid": metadata["uid"],
                },
            },
            "status": {"snapshotHandle": f"sandbox-{content_name}", "readyToUse": ready},
        }
        content_type = self.api.registry.by_key(CONTENTS)
        assert content_type is not None
        if self.api.store.get(CONTENTS, "", content_name) is None:
            self.api.create_internal(content_type, content, manager=MANAGER)
        status = {
            "boundVolumeSnapshotContentName": content_name,
            "creationTime": created,
            "readyToUse": ready,
            "restoreSize": str((claim or {}).get("status", {}).get("capacity", {}).get("storage", "0")),
        }
        self._write_status(snapshot, status)
        if not ready and math.isfinite(self.ready_delay):
            timer = threading.Timer(
                self.ready_delay, self._mark_ready, args=(metadata["namespace"], metadata["name"])
            )
            timer.daemon = True
            self._timers.append(timer)
            timer.start()

    def _mark_ready(self, namespace: str, name: str) -> None:
        if not self.installed:
            return
        snapshot = self.api.store.get(SNAPSHOTS, namespace, name)
        if snapshot is None:
            return
        status = dict(snapshot.get("status") or {})
        content = self.api.store.get(CONTENTS, "", str(status.get("boundVolumeSnapshotContentName")))
        if content is not None:
            updated = copy.deepcopy(content)
            updated["status"] = {**(content.get("status") or {}), "readyToUse": True}
            content_type = self.api.registry.by_key(CONTENTS)
            assert content_type is not None
            self.api.update_internal(content_type, updated)
        self._write_status(snapshot, {**status, "readyToUse": True})

    def _write_status(self, snapshot: KubeObject, status: dict[str, Any]) -> None:
        if snapshot.get("status") == status:
            return
        updated = copy.deepcopy(snapshot)
        updated["status"] = status
        snapshot_type = self.api.registry.by_key(SNAPSHOTS)
        assert snapshot_type is not None
        self.api.update_internal(snapshot_type, updated)

    def _delete_orphaned_contents(self) -> None:
        content_type = self.api.registry.by_key(CONTENTS)
        assert content_type is not None
        for content in self.api.store.list(CONTENTS):
            reference = (content.get("spec") or {}).get("volumeSnapshotRef") or {}
            snapshot = self.api.store.get(
                SNAPSHOTS, reference.get("namespace", ""), reference.get("name", "")
            )
            if snapshot is not None and snapshot["metadata"]["uid"] == reference.get("uid"):
                continue
            if (content.get("spec") or {}).get("deletionPolicy") != "Delete":
                continue
            self.api.delete_internal(content_type, content)
            path = (content["metadata"].get("annotations") or {}).get("sandbox.dr-syncer.io/path")
            if path:
                shutil.rmtree(path, ignore_errors=True)

    # ------------------------------------------------------------ restore

    def _restore_claims(self) -> None:
        pv_type = self.api.registry.by_key(("", "persistentvolumes"))
        assert pv_type is not None
        for claim in self.api.store.list(("", "persistentvolumeclaims")):
            spec = claim.get("spec") or {}
            source = spec.get("dataSource") or spec.get("dataSourceRef") or {}
            if source.get("kind") != "VolumeSnapshot" or not spec.get("volumeName"):
                continue
            pv = self.api.store.get(("", "persistentvolumes"), "", spec["volumeName"])
            if pv is None or (pv["metadata"].get("annotations") or {}).get(RESTORED_FROM):
                continue
            snapshot = self.api.store.get(SNAPSHOTS, claim["metadata"]["namespace"], str(source.get("name")))
            status = (snapshot or {}).get("status") or {}
            if not status.get("readyToUse"):
                continue
            copy_dir = self.snapshot_root / str(status.get("boundVolumeSnapshotContentName"))
            target = self._volume_dir(spec["volumeName"])
            shutil.copytree(copy_dir, target, symlinks=True, dirs_exist_ok=True)
            updated = copy.deepcopy(pv)
            updated["metadata"].setdefault("annotations", {})[RESTORED_FROM] = str(source.get("name"))
            self.api.update_internal(pv_type, updated)
