"""Swap a DR claim for one restored from a restore point (``drsyncer restore-points restore``).

A PVC's data source is immutable, so a claim is restored by replacing it: the DR claim is deleted and
created again, same name and spec, with ``dataSource`` naming the VolumeSnapshot (the CSI provisioner
fills the new volume from it). Steps, each checked with a deadline:

1. the point must be one of this mapping's restore points of this claim, and ``readyToUse``;
2. DR must be parked: no pod mounts the claim and no Deployment or StatefulSet in the DR namespace has
   replicas (``--force`` skips this; a running workload would keep the old claim Terminating);
3. when the mapping has restore points configured, the current DR copy is snapshotted first, so the
   restore itself can be undone;
4. delete the claim, wait until it is gone; create it from the snapshot (requested size at least the
   snapshot's ``restoreSize``) with field manager ``dr-syncer-restore`` — not ``dr-syncer``, whose next
   apply (without ``dataSource``) must not try to remove an immutable field; wait until it is Bound.

The next data sync would mirror the source over the restored copy: pause the mapping first (the change
guard holds a corrupted source anyway).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import DataSyncError
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.objects import KubeObject
from tasks.data.restore_points import RestorePoint, list_restore_points, take_restore_point

RESTORE_MANAGER = "dr-syncer-restore"
POLL_SECONDS = 0.2
_BIND_ANNOTATION_PREFIXES = ("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/")


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did."""

    claim: str
    point: str
    safety_point: str = ""
    """The restore point taken of the replaced copy (empty when restore points are not configured)."""


def _claim_path(namespace: str, name: str | None = None) -> str:
    return object_path(
        group="", version="v1", plural="persistentvolumeclaims", namespace=namespace, name=name
    )


def active_workloads(client: KubeClient, namespace: str, claim: str) -> list[str]:
    """What makes DR active for this claim: pods mounting it, workloads with replicas (``kind/name``)."""
    found: list[str] = []
    pods, _ = client.list(object_path(group="", version="v1", plural="pods", namespace=namespace))
    for pod in pods:
        volumes = (pod.get("spec") or {}).get("volumes") or []
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in volumes):
            found.append(f"Pod/{pod['metadata']['name']}")
    for plural, kind in (("deployments", "Deployment"), ("statefulsets", "StatefulSet")):
        items, _ = client.list(object_path(group="apps", version="v1", plural=plural, namespace=namespace))
        found += [
            f"{kind}/{item['metadata']['name']}"
            for item in items
            if int((item.get("spec") or {}).get("replicas", 1) or 0) > 0
        ]
    return found


def restored_claim(current: KubeObject, *, snapshot: str, restore_size: str) -> KubeObject:
    """The claim to create: ``current`` without server and binding fields, ``dataSource`` the snapshot."""
    metadata = current["metadata"]
    annotations = {
        key: value
        for key, value in (metadata.get("annotations") or {}).items()
        if not key.startswith(_BIND_ANNOTATION_PREFIXES)
    }
    spec = copy.deepcopy(current.get("spec") or {})
    for field in ("volumeName", "dataSource", "dataSourceRef"):
        spec.pop(field, None)
    spec["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot}
    requests = spec.setdefault("resources", {}).setdefault("requests", {})
    if restore_size and restore_size != "0" and not requests.get("storage"):
        requests["storage"] = restore_size
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "labels": dict(metadata.get("labels") or {}),
            "annotations": annotations,
        },
        "spec": spec,
    }


def _wait(check: Callable[[], bool], *, what: str, timeout: float, clock: Callable[[], float]) -> None:
    deadline = clock() + timeout
    while not check():
        if clock() > deadline:
            raise DataSyncError(
                f"restore: {what} did not happen within {timeout:g} s", fix="check the DR cluster"
            )
        time.sleep(POLL_SECONDS)


def restore_claim(
    client: KubeClient,
    mapping: EffectiveMapping,
    *,
    claim: str,
    point: str,
    force: bool,
    now: datetime,
    timeout_seconds: float = 600.0,
    clock: Callable[[], float] = time.monotonic,
) -> RestoreResult:
    """Replace the DR claim with one restored from restore point ``point``; see the module docstring."""
    namespace = mapping.destination_namespace
    points = {p.name: p for p in list_restore_points(client, namespace, mapping=mapping.name, claim=claim)}
    chosen: RestorePoint | None = points.get(point)
    if chosen is None:
        known = ", ".join(points) or "none"
        raise DataSyncError(
            f"{point!r} is not a restore point of claim {claim} of mapping {mapping.name} (known: {known})",
            fix=f"list them with `drsyncer restore-points list CONFIG --mapping {mapping.name}`",
        )
    if not chosen.ready:
        raise DataSyncError(f"restore point {point} is not readyToUse", fix="wait for it, or pick another")
    current = client.get(_claim_path(namespace, claim))
    if current is None:
        raise DataSyncError(
            f"claim {claim} does not exist in {mapping.destination.name}/{namespace}",
            fix="sync the mapping's objects first (the claim's spec is taken from the DR copy)",
        )
    active = active_workloads(client, namespace, claim)
    if active and not force:
        raise DataSyncError(
            f"DR is active in {mapping.destination.name}/{namespace} ({', '.join(active[:5])}); restoring "
            f"would pull the data from under it",
            fix="park DR first (scale its workloads to 0), or pass --force",
        )
    safety = ""
    config = mapping.spec.pvc_config.restore_points
    if config.volume_snapshot_class_name:
        safety = take_restore_point(
            client,
            cluster=mapping.destination.name,
            namespace=namespace,
            mapping=mapping.name,
            claim=claim,
            class_name=config.volume_snapshot_class_name,
            ready_timeout_seconds=config.ready_timeout.seconds,
            now=now,
            operation="restore",
        ).name
    snapshot = client.get(
        object_path(
            group="snapshot.storage.k8s.io",
            version="v1",
            plural="volumesnapshots",
            namespace=namespace,
            name=point,
        )
    )
    restore_size = str(((snapshot or {}).get("status") or {}).get("restoreSize") or "")
    replacement = restored_claim(current, snapshot=point, restore_size=restore_size)
    old_uid = current["metadata"]["uid"]
    client.delete(_claim_path(namespace, claim))

    def replaced() -> bool:
        found = client.get(_claim_path(namespace, claim))
        return found is None or found["metadata"]["uid"] != old_uid

    _wait(replaced, what=f"deleting claim {claim}", timeout=timeout_seconds, clock=clock)
    client.create(_claim_path(namespace), replacement, field_manager=RESTORE_MANAGER)

    def bound() -> bool:
        found = client.get(_claim_path(namespace, claim)) or {}
        return (found.get("status") or {}).get("phase") == "Bound"

    _wait(bound, what=f"binding claim {claim} restored from {point}", timeout=timeout_seconds, clock=clock)
    return RestoreResult(claim=claim, point=point, safety_point=safety)
