"""Restore points: a CSI VolumeSnapshot of the DR claim before a data sync changes it, kept by retention.

The change guard (:mod:`tasks.data.change_check`) stops the obvious disasters; restore points keep the
DR copy's past for the rest (a slow corruption, a bad release found a day later). With
``pvcConfig.restorePoints.volumeSnapshotClassName`` set, :func:`restore_point_before_transfer` runs in
each PVC's data step after the guard and before the transfer:

1. nothing in DR would change (the guard's dry run: no file deleted or rewritten) → no snapshot;
2. the class must exist in the DR cluster (else the PVC fails: "VolumeSnapshotClass X does not exist");
3. create ``VolumeSnapshot <claim>-<UTC time>-<4 hex>`` of the DR claim (``snapshot.storage.k8s.io/v1``),
   labelled with the mapping, the claim and the time (:mod:`drsyncer.labels`);
4. wait for ``status.readyToUse`` with a deadline (``readyTimeout``); a snapshot that never gets ready is
   deleted and fails the PVC — the transfer does not run, so the DR copy stays as it was;
5. prune: keep the newest ``keep`` restore points of the claim, and delete those older than
   ``keepWithin`` except the newest (:func:`points_to_prune`, pure).

:func:`list_restore_points` is what ``drsyncer restore-points list`` shows.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drsyncer import labels
from drsyncer.errors import DataSyncError
from drsyncer.kube.client import ApiError, KubeClient, object_path
from drsyncer.objects import KubeObject
from tasks.data.change_check import preview_changes
from tasks.data.change_guard import ChangeSummary
from tasks.data.retry import RetryPolicy
from tasks.data.transfer import ControlCredentials, TransferSpec
from tasks.session import SyncSession

GROUP = "snapshot.storage.k8s.io"
VERSION = "v1"
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class RestorePoint:
    """One VolumeSnapshot dr-syncer took of a DR claim."""

    name: str
    claim: str
    taken_at: datetime
    ready: bool
    error: str = ""
    operation: str = "sync"
    """What overwrote the claim after this point (label ``restore-point-operation``)."""

    @classmethod
    def from_snapshot(cls, snapshot: KubeObject) -> RestorePoint:
        """Read a VolumeSnapshot carrying our labels."""
        metadata = snapshot["metadata"]
        object_labels = metadata.get("labels") or {}
        status = snapshot.get("status") or {}
        return cls(
            name=str(metadata["name"]),
            claim=str(
                ((snapshot.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName", "")
            ),
            taken_at=parse_time(str(object_labels.get(labels.RESTORE_POINT_TIME, ""))),
            ready=bool(status.get("readyToUse")),
            error=str((status.get("error") or {}).get("message", "")),
            operation=str(object_labels.get(labels.RESTORE_POINT_OPERATION, "sync")),
        )


def parse_time(text: str) -> datetime:
    """A restore point's time label as an aware UTC datetime (epoch for a missing or odd label)."""
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def label_value(text: str) -> str:
    """``text`` as a label value: itself when it fits 63 characters, else a stable digest."""
    return text if len(text) <= 63 else hashlib.sha256(text.encode()).hexdigest()[:40]


def points_to_prune(
    points: list[RestorePoint], *, keep: int, keep_within: timedelta | None, now: datetime
) -> list[RestorePoint]:
    """Which of one claim's restore points retention deletes: beyond the newest ``keep``, or older than
    ``keep_within`` — never the newest one."""
    ordered = sorted(points, key=lambda point: point.taken_at, reverse=True)
    doomed = []
    for index, point in enumerate(ordered):
        too_many = index >= keep
        too_old = keep_within is not None and index > 0 and now - point.taken_at > keep_within
        if too_many or too_old:
            doomed.append(point)
    return doomed


def _snapshots_path(namespace: str, name: str = "") -> str:
    return object_path(group=GROUP, version=VERSION, plural="volumesnapshots", namespace=namespace, name=name)


def list_restore_points(
    client: KubeClient, namespace: str, *, mapping: str, claim: str | None = None
) -> list[RestorePoint]:
    """The restore points of ``mapping`` (optionally of one claim) in ``namespace``, newest first."""
    selector = f"{labels.RESTORE_POINT_MAPPING}={label_value(mapping)}"
    if claim is not None:
        selector += f",{labels.RESTORE_POINT_CLAIM}={label_value(claim)}"
    try:
        items, _ = client.list(_snapshots_path(namespace), label_selector=selector)
    except ApiError as error:
        if error.is_not_found:
            return []  # the snapshot CRDs are not installed: there can be no restore points
        raise
    points = [RestorePoint.from_snapshot(item) for item in items]
    return sorted(points, key=lambda point: point.taken_at, reverse=True)


def _check_class(client: KubeClient, class_name: str, *, cluster: str) -> None:
    path = object_path(
        group=GROUP, version=VERSION, plural="volumesnapshotclasses", namespace=None, name=class_name
    )
    try:
        found = client.get(path)
    except ApiError as error:
        if not error.is_not_found:
            raise
        found = None
    if found is None:
        raise DataSyncError(
            f"restore point not taken: VolumeSnapshotClass {class_name!r} does not exist in cluster "
            f"{cluster} (or the snapshot.storage.k8s.io CRDs are not installed); the DR copy was left "
            "untouched",
            fix="create the class (and install the CSI snapshot controller), or correct "
            "pvcConfig.restorePoints.volumeSnapshotClassName",
        )


def take_restore_point(
    client: KubeClient,
    *,
    cluster: str,
    namespace: str,
    mapping: str,
    claim: str,
    class_name: str,
    ready_timeout_seconds: float,
    now: datetime,
    operation: str = "sync",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RestorePoint:
    """Snapshot the DR claim, wait for readyToUse with a deadline; raise :class:`DataSyncError` if not.

    ``operation`` is what is about to overwrite the claim (its ``restore-point-operation`` label).
    """
    _check_class(client, class_name, cluster=cluster)
    stamp = now.astimezone(UTC).strftime(TIME_FORMAT)
    name = f"{claim[:200]}-{stamp.lower()}-{secrets.token_hex(2)}"  # two points in one second differ
    snapshot: KubeObject = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
                labels.RESTORE_POINT_MAPPING: label_value(mapping),
                labels.RESTORE_POINT_CLAIM: label_value(claim),
                labels.RESTORE_POINT_TIME: stamp,
                labels.RESTORE_POINT_OPERATION: label_value(operation),
            },
        },
        "spec": {"volumeSnapshotClassName": class_name, "source": {"persistentVolumeClaimName": claim}},
    }
    client.create(_snapshots_path(namespace), snapshot, field_manager=labels.FIELD_MANAGER)
    deadline = clock() + ready_timeout_seconds
    while True:
        current = client.get(_snapshots_path(namespace, name))
        point = RestorePoint.from_snapshot(current or snapshot)
        if point.ready:
            return point
        if clock() >= deadline:
            client.delete(_snapshots_path(namespace, name))
            detail = f" (last error: {point.error})" if point.error else ""
            raise DataSyncError(
                f"restore point {name} of claim {claim} was not readyToUse within {ready_timeout_seconds:g} s"
                f"{detail}; it was deleted and the data sync skipped, so the DR copy is as it was",
                fix="check the CSI snapshot controller and driver in the DR cluster, or raise "
                "pvcConfig.restorePoints.readyTimeout",
            )
        sleep(POLL_SECONDS)


def prune_restore_points(
    client: KubeClient,
    namespace: str,
    *,
    mapping: str,
    claim: str,
    keep: int,
    keep_within: timedelta | None,
    now: datetime,
) -> list[str]:
    """Delete the claim's restore points retention no longer keeps; return their names."""
    points = list_restore_points(client, namespace, mapping=mapping, claim=claim)
    doomed = points_to_prune(points, keep=keep, keep_within=keep_within, now=now)
    for point in doomed:
        client.delete(_snapshots_path(namespace, point.name))
    return [point.name for point in doomed]


def restore_point_before_transfer(
    session: SyncSession,
    claim: str,
    spec: TransferSpec,
    credentials: ControlCredentials,
    *,
    summary: ChangeSummary | None,
    retry_policy: RetryPolicy | None = None,
    log: Callable[[str], object] = print,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RestorePoint | None:
    """Take (and prune) a restore point of the DR claim when the transfer would change it; else None.

    ``summary`` is the change guard's dry run when it ran (else one is made here).
    """
    mapping = session.mapping
    config = mapping.spec.pvc_config.restore_points
    if not config.volume_snapshot_class_name:
        return None
    if summary is None:
        summary = preview_changes(spec, credentials, retry_policy=retry_policy)
    if not summary.touches_dr_copy:
        log(f"PVC {claim}: no restore point: the sync deletes or rewrites nothing in the DR copy")
        return None
    namespace = mapping.destination_namespace
    taken_at = now()
    point = take_restore_point(
        session.destination,
        cluster=mapping.destination.name,
        namespace=namespace,
        mapping=mapping.name,
        claim=claim,
        class_name=config.volume_snapshot_class_name,
        ready_timeout_seconds=config.ready_timeout.seconds,
        now=taken_at,
        operation=session.operation,
    )
    pruned = prune_restore_points(
        session.destination,
        namespace,
        mapping=mapping.name,
        claim=claim,
        keep=config.keep,
        keep_within=config.keep_within.timedelta if config.keep_within else None,
        now=taken_at,
    )
    log(
        f"PVC {claim}: restore point {point.name} taken" + (f"; pruned {', '.join(pruned)}" if pruned else "")
    )
    return point
