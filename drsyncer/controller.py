"""Controller-cluster mode: the configuration is DR-Syncer's CRs in a cluster, and status goes back there.

A DR-Syncer user points us at their existing objects: ``--from-cluster --kubeconfig K [--context C]``.
We read every RemoteCluster, ClusterMapping and NamespaceMapping (``dr-syncer.io/v1alpha1``) from the
controller cluster, validate and resolve them with the same loader as files, and reach the remote
clusters through the kubeconfig Secrets their RemoteClusters name.

After a sync the NamespaceMapping's ``.status`` is written back in DR-Syncer's format (design §3): phase,
lastSyncTime, nextSyncTime (Scheduled), syncStats (counting objects), deploymentScales, resourceStatus
(one entry per object), lastError, and the ``Synced`` condition. Status writes go through the
``status`` subresource, retry on conflicts, and are skipped when nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from croniter import croniter

from drsyncer.config.effective import Config, EffectiveMapping
from drsyncer.config.loader import load_documents
from drsyncer.config.namespace_mapping import ReplicationMode
from drsyncer.config.sources import SourcedDocument, SourceRef
from drsyncer.errors import ClusterError, UsageError
from drsyncer.kube.client import ApiError, KubeClient, object_path
from drsyncer.kube.connect import client_from_kubeconfig_file
from drsyncer.report import SyncReport

GROUP = "dr-syncer.io"
VERSION = "v1alpha1"
PLURALS = {
    "RemoteCluster": "remoteclusters",
    "ClusterMapping": "clustermappings",
    "NamespaceMapping": "namespacemappings",
}
STATUS_ATTEMPTS = 5


def connect_controller(controller: dict[str, Any]) -> KubeClient:
    """The client of the controller cluster from ``{"kubeconfig": PATH, "context": NAME}``."""
    path = Path(str(controller.get("kubeconfig") or "")).expanduser()
    context = controller.get("context") or None
    return client_from_kubeconfig_file("controller", path, context)


def read_controller_documents(client: KubeClient) -> list[SourcedDocument]:
    """Every dr-syncer CR in the controller cluster, as documents for the loader."""
    documents: list[SourcedDocument] = []
    for kind, plural in PLURALS.items():
        path = f"/apis/{GROUP}/{VERSION}/{plural}"
        try:
            items, _ = client.list(path)
        except ApiError as error:
            if error.is_not_found:
                raise ClusterError(
                    f"controller cluster does not serve {plural}.{GROUP}: "
                    "the dr-syncer CRDs are not installed",
                    fix="kubectl apply -f deployments/kubernetes/crds/ against the controller cluster",
                ) from error
            raise
        for index, item in enumerate(items, start=1):
            item.setdefault("apiVersion", f"{GROUP}/{VERSION}")
            item.setdefault("kind", kind)
            metadata = item.get("metadata") or {}
            label = f"cluster controller: {kind} {metadata.get('namespace', '')}/{metadata.get('name', '')}"
            documents.append(SourcedDocument(body=item, source=SourceRef(label=label, index=index)))
    return documents


def load_controller_config(controller: dict[str, Any]) -> tuple[KubeClient, Config]:
    """Connect to the controller cluster and load its dr-syncer CRs as a configuration."""
    client = connect_controller(controller)
    return client, load_documents(read_controller_documents(client), sources=["controller cluster"])


def find_mapping(config: Config, name: str) -> EffectiveMapping:
    """Mapping ``name`` (``namespace/name``, or a ``name`` unique across namespaces)."""
    if "/" not in name:
        matches = [mapping for mapping in config.mappings if mapping.name == name]
        if len(matches) > 1:
            raise UsageError(
                f"NamespaceMapping {name!r} exists in several namespaces: "
                + ", ".join(mapping.key for mapping in matches),
                fix="address it as NAMESPACE/NAME",
            )
    return config.mapping(name)


def format_duration(seconds: float) -> str:
    """DR-Syncer's ``lastSyncDuration`` format: ``3s``, ``1m5s``, ``1h2m3s``, ``0s``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def next_sync_time(schedule: str, after: datetime) -> str:
    """The next firing of ``schedule`` after ``after`` (RFC 3339, UTC)."""
    firing = croniter(schedule, after).get_next(datetime)
    return _timestamp(firing)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_status(
    mapping: EffectiveMapping, report: SyncReport, *, previous: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The NamespaceMapping ``.status`` after ``report`` (DR-Syncer's fields and vocabulary)."""
    stamp = _timestamp(now)
    counts = report.counts
    synced_objects = [o for o in report.objects if o.status not in ("skipped",) and o.action != "skip"]
    status: dict[str, Any] = {
        "phase": report.phase,
        "lastSyncTime": stamp,
        "syncStats": {
            "totalResources": len(synced_objects),
            "successfulSyncs": len(synced_objects) - counts["failed"],
            "failedSyncs": counts["failed"],
            "lastSyncDuration": format_duration(report.duration_seconds),
        },
        "resourceStatus": [
            {
                "kind": o.kind,
                "name": o.name,
                "namespace": report.destination_namespace if o.kind != "Namespace" else "",
                "status": "Failed" if o.status == "failed" else "Synced",
                "lastSyncTime": stamp,
                **({"error": o.error} if o.error else {}),
            }
            for o in synced_objects
        ],
        "deploymentScales": [
            {"name": scale["name"], "originalReplicas": scale["originalReplicas"], "lastSyncedAt": stamp}
            for scale in report.deployment_scales
        ],
    }
    if mapping.mode == ReplicationMode.Scheduled and mapping.schedule:
        status["nextSyncTime"] = next_sync_time(mapping.schedule, now)
    if report.succeeded:
        condition = {
            "type": "Synced",
            "status": "True",
            "reason": "SyncCompleted",
            "message": f"Resources successfully synced from cluster {mapping.source.name} to cluster "
            f"{mapping.destination.name}",
        }
    else:
        failure = report.failure_summary()
        first_failed = report.failed_objects[0] if report.failed_objects else None
        status["lastError"] = {
            "message": failure,
            "time": stamp,
            **({"resource": f"{first_failed.kind}/{first_failed.name}"} if first_failed else {}),
        }
        condition = {
            "type": "Synced",
            "status": "False",
            "reason": "SyncFailed",
            "message": f"Sync failed: {failure}",
        }
    status["conditions"] = [
        _with_transition(condition, previous, stamp),
        _with_transition(warnings_condition(report), previous, stamp),
    ]
    for key in ("lastWatchEvent", "lastSyncNowValue"):
        if key in previous:
            status[key] = previous[key]
    return status


def warnings_condition(report: SyncReport) -> dict[str, Any]:
    """Condition ``Warnings``: ``True`` with the warnings (API groups left out, deprecations), else False."""
    if not report.warnings:
        return {"type": "Warnings", "status": "False", "reason": "NoWarnings", "message": "No warnings"}
    return {
        "type": "Warnings",
        "status": "True",
        "reason": "SyncWarnings",
        "message": "; ".join(report.warnings),
    }


def _with_transition(condition: dict[str, Any], previous: dict[str, Any], stamp: str) -> dict[str, Any]:
    for old in previous.get("conditions") or []:
        if old.get("type") == condition["type"] and old.get("status") == condition["status"]:
            return {**condition, "lastTransitionTime": old.get("lastTransitionTime", stamp)}
    return {**condition, "lastTransitionTime": stamp}


class StatusWriter:
    """Writes one NamespaceMapping's status in the controller cluster."""

    def __init__(
        self, client: KubeClient, mapping: EffectiveMapping, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.client = client
        self.mapping = mapping
        self.clock = clock or (lambda: datetime.now(UTC))
        self.path = object_path(
            group=GROUP,
            version=VERSION,
            plural="namespacemappings",
            namespace=mapping.namespace,
            name=mapping.name,
        )

    def mark_running(self) -> None:
        """Phase ``Running`` with ``lastSyncTime`` = now, as a sync starts."""
        now = _timestamp(self.clock())
        self._update(lambda previous: {**previous, "phase": "Running", "lastSyncTime": now})

    def mark_watching(self, *, event_time: datetime | None = None) -> None:
        """Continuous mode: phase ``Running`` (the mapping is being watched), ``lastWatchEvent`` if given."""
        stamp = _timestamp(event_time) if event_time is not None else None

        def compute(previous: dict[str, Any]) -> dict[str, Any]:
            status = {**previous, "phase": "Running"}
            if stamp is not None:
                status["lastWatchEvent"] = stamp
            return status

        self._update(compute)

    def write_report(self, report: SyncReport) -> None:
        """The status after a finished sync."""
        now = self.clock()
        self._update(lambda previous: result_status(self.mapping, report, previous=previous, now=now))

    def _update(self, compute: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        for attempt in range(1, STATUS_ATTEMPTS + 1):
            live = self.client.get(self.path)
            if live is None:
                return
            previous = live.get("status") or {}
            status = compute(previous)
            if status == previous:
                return
            body = {**live, "status": status}
            try:
                self.client.request(
                    "PUT", f"{self.path}/status", body=body, what="write NamespaceMapping status"
                )
                return
            except ApiError as error:
                if not error.is_conflict or attempt == STATUS_ATTEMPTS:
                    raise
                self.client.sleep(0.25 * 1.2**attempt)
