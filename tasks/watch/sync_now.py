"""Controller mode's trigger watcher: a run when a NamespaceMapping gets ``sync-now`` or a new spec.

DR-Syncer re-synced forever while ``dr-syncer.io/sync-now`` was present (status updates re-triggered the
reconcile and the annotation was never removed). Here the value acted on is recorded in the mapping's
status (``status.lastSyncNowValue``, our addition; the CRD's status keeps unknown fields) **before** the
run is started, so one value starts at most one run, across restarts of the watcher. A spec change (a
``metadata.generation`` above the recorded ``status.observedGeneration``) starts a run too; the first time
a mapping is seen its generation is only recorded. Paused mappings never trigger (their values are not
recorded either, so un-pausing does not lose a pending ``sync-now``). Each event is decided on a fresh GET
of the mapping, never on the event's copy, which may be older than the status just recorded.

:func:`trigger_decision` is pure; :class:`SyncNowWatcher` watches the NamespaceMappings of the controller
cluster with :class:`~tasks.watch.watcher.KindWatcher` and calls ``trigger(namespace/name, reason)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource
from drsyncer.labels import SYNC_NOW
from drsyncer.objects import KubeObject
from tasks.watch.events import WatchEvent
from tasks.watch.watcher import KindWatcher

LEGACY_TRIGGER = "dr-syncer.io/trigger-sync"
FIELD_MANAGER = "dr-syncer-triggers"
"""Owns ``status.lastSyncNowValue`` and ``status.observedGeneration`` (server-side apply on ``/status``)."""
HANDLED_FIELD = "lastSyncNowValue"
OBSERVED_FIELD = "observedGeneration"

NAMESPACE_MAPPINGS = ApiResource(
    group="dr-syncer.io",
    version="v1alpha1",
    kind="NamespaceMapping",
    plural="namespacemappings",
    namespaced=True,
    verbs=("get", "list", "watch", "patch"),
)

Reason = Literal["sync-now", "spec-changed"]


@dataclass(frozen=True)
class TriggerDecision:
    """What to record in status, and whether (and why) to start a run."""

    record: dict[str, Any]
    reason: Reason | None


def trigger_decision(obj: KubeObject) -> TriggerDecision | None:
    """Whether a NamespaceMapping asks for a run now; None when there is nothing to do or record."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if spec.get("paused"):
        return None
    annotations = metadata.get("annotations") or {}
    value = annotations.get(SYNC_NOW) or annotations.get(LEGACY_TRIGGER)
    generation = _integer(metadata.get("generation"))
    observed = _integer(status.get(OBSERVED_FIELD))
    handled = status.get(HANDLED_FIELD)
    reason: Reason | None = None
    if value and value != handled:
        reason = "sync-now"
    elif generation is not None and observed is not None and generation > observed:
        reason = "spec-changed"
    if reason is None and (generation is None or generation == observed):
        return None
    # Server-side apply: always send every field this watcher owns, or the omitted one is removed.
    record: dict[str, Any] = {}
    if generation is not None or observed is not None:
        record[OBSERVED_FIELD] = generation if generation is not None else observed
    if value or handled:
        record[HANDLED_FIELD] = value if reason == "sync-now" else handled
    return TriggerDecision(record=record, reason=reason)


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class SyncNowWatcher:
    """Watches NamespaceMappings in the controller cluster and triggers runs (see the module docstring)."""

    client: KubeClient
    trigger: Callable[[str, Reason], None]
    stop: threading.Event = field(default_factory=threading.Event)
    namespace: str = ""
    """Watch one namespace; empty: every namespace."""
    log: Callable[[str], None] = lambda message: None
    _watcher: KindWatcher | None = None

    def handle(self, obj: KubeObject) -> Reason | None:
        """Decide, record the decision in status, then trigger; returns the reason of a triggered run."""
        decision = trigger_decision(obj)
        if decision is None:
            return None
        metadata = obj.get("metadata") or {}
        namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
        body = {
            "apiVersion": NAMESPACE_MAPPINGS.api_version,
            "kind": NAMESPACE_MAPPINGS.kind,
            "metadata": {"name": name, "namespace": namespace},
            "status": decision.record,
        }
        path = NAMESPACE_MAPPINGS.path(namespace, name, subresource="status")
        self.client.apply(path, body, field_manager=FIELD_MANAGER, force=True)
        if decision.reason is not None:
            self.log(f"{namespace}/{name}: starting a run ({decision.reason})")
            self.trigger(f"{namespace}/{name}", decision.reason)
        return decision.reason

    def _on_event(self, event: WatchEvent) -> None:
        """Decide on the object as it is *now*: a queued event may predate a status already recorded."""
        if event.type == "DELETED":
            return
        metadata = event.obj.get("metadata") or {}
        try:
            fresh = self.client.get(NAMESPACE_MAPPINGS.path(str(metadata.get("namespace", "")), event.name))
            if fresh is not None:
                self.handle(fresh)
        except Exception as error:
            self.log(f"{event.name}: sync-now handling failed: {error}")

    def run(self) -> None:
        """Handle every existing mapping once, then watch until ``stop`` is set."""
        watcher = KindWatcher(
            client=self.client,
            resource=NAMESPACE_MAPPINGS,
            namespace=self.namespace,
            emit=self._on_event,
            stop=self.stop,
            log=self.log,
        )
        self._watcher = watcher
        items, watcher.resource_version = self.client.list(NAMESPACE_MAPPINGS.path(self.namespace))
        watcher.known = {str(item["metadata"]["name"]): "" for item in items}
        for item in items:
            self._on_event(WatchEvent("ADDED", NAMESPACE_MAPPINGS, str(item["metadata"]["name"]), item))
        watcher.run()
