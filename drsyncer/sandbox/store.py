"""Object storage for one sandbox cluster: objects, one cluster-wide resourceVersion and watch history.

Stored objects are never mutated in place: every write stores a fresh dict, so readers may serialise what
they got without copying. One re-entrant lock guards everything; its condition wakes watchers when an
event is recorded. ``compact()`` forgets history (watches from older versions then get 410 Expired), and
``snapshot()``/``restore()`` make ``FakeCluster.reset()`` cheap.
"""

from __future__ import annotations

import builtins
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from drsyncer.objects import KubeObject

StoreKey = tuple[str, str]
"""(group, plural)"""
ObjectKey = tuple[str, str]
"""(namespace, name); namespace '' for cluster-scoped objects."""

HISTORY_LIMIT = 20_000


@dataclass(frozen=True)
class Event:
    """One change, as a watch replays it."""

    resource_version: int
    type: str
    """ADDED, MODIFIED or DELETED."""
    key: StoreKey
    obj: KubeObject
    old: KubeObject | None


class Store:
    """All objects of one cluster; thread-safe through ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.resource_version = 0
        self.compacted = 0
        self.closed = False
        self._buckets: dict[StoreKey, dict[ObjectKey, KubeObject]] = {}
        self.history: deque[Event] = deque(maxlen=HISTORY_LIMIT)

    def next_version(self) -> int:
        """Advance and return the cluster-wide resourceVersion."""
        with self.lock:
            self.resource_version += 1
            return self.resource_version

    def get(self, key: StoreKey, namespace: str, name: str) -> KubeObject | None:
        """The stored object or None."""
        with self.lock:
            return self._buckets.get(key, {}).get((namespace, name))

    def list(self, key: StoreKey, namespace: str | None = None) -> list[KubeObject]:
        """Objects of one resource, sorted by namespace and name (all namespaces when None)."""
        with self.lock:
            bucket = self._buckets.get(key, {})
            keys = sorted(bucket) if namespace is None else sorted(k for k in bucket if k[0] == namespace)
            return [bucket[k] for k in keys]

    def resources(self) -> builtins.list[StoreKey]:
        """Every resource that has (or had) objects."""
        with self.lock:
            return list(self._buckets)

    def put(self, key: StoreKey, obj: KubeObject, *, event: str) -> KubeObject:
        """Store ``obj`` with a new resourceVersion and record ``event``; returns the stored object."""
        with self.lock:
            metadata = obj["metadata"]
            object_key = (metadata.get("namespace", ""), metadata["name"])
            bucket = self._buckets.setdefault(key, {})
            old = bucket.get(object_key)
            version = self.next_version()
            metadata["resourceVersion"] = str(version)
            bucket[object_key] = obj
            self._record(Event(version, event, key, obj, old))
            return obj

    def remove(self, key: StoreKey, obj: KubeObject) -> KubeObject:
        """Delete ``obj``; the DELETED event carries a new resourceVersion."""
        with self.lock:
            metadata = obj["metadata"]
            bucket = self._buckets.get(key, {})
            old = bucket.pop((metadata.get("namespace", ""), metadata["name"]), None)
            version = self.next_version()
            gone = {**obj, "metadata": {**metadata, "resourceVersion": str(version)}}
            self._record(Event(version, "DELETED", key, gone, old))
            return gone

    def drop_resource(self, key: StoreKey) -> builtins.list[KubeObject]:
        """Delete every object of one resource (a CRD went away)."""
        with self.lock:
            return [self.remove(key, obj) for obj in list(self._buckets.get(key, {}).values())]

    def _record(self, event: Event) -> None:
        if len(self.history) == self.history.maxlen:
            self.compacted = self.history[0].resource_version
        self.history.append(event)
        self.changed.notify_all()

    def events_since(self, version: int) -> builtins.list[Event]:
        """Recorded events newer than ``version`` (caller checks ``compacted`` first)."""
        with self.lock:
            if not self.history or self.history[-1].resource_version <= version:
                return []
            return [e for e in self.history if e.resource_version > version]

    def compact(self) -> int:
        """Forget all history; watches and continue tokens from older versions get 410. Returns the RV."""
        with self.lock:
            self.history.clear()
            self.compacted = self.resource_version
            self.changed.notify_all()
            return self.compacted

    def snapshot(self) -> dict[StoreKey, dict[ObjectKey, KubeObject]]:
        """A cheap copy of the current contents (objects are immutable, so shallow suffices)."""
        with self.lock:
            return {key: dict(bucket) for key, bucket in self._buckets.items()}

    def restore(self, snapshot: dict[StoreKey, dict[ObjectKey, KubeObject]]) -> None:
        """Replace all contents; history is compacted so old watches end with 410."""
        with self.lock:
            self._buckets = {key: dict(bucket) for key, bucket in snapshot.items()}
            self.history.clear()
            self.next_version()
            self.compacted = self.resource_version
            self.changed.notify_all()

    def close(self) -> None:
        """Wake and end every watcher."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()

    def wait(self, timeout: float) -> None:
        """Block until an event is recorded or ``timeout`` elapses (caller holds no lock)."""
        with self.changed:
            self.changed.wait(timeout)

    def count(self) -> dict[StoreKey, int]:
        """Objects per resource (for diagnostics)."""
        with self.lock:
            return {key: len(bucket) for key, bucket in self._buckets.items() if bucket}


def meta(obj: KubeObject) -> dict[str, Any]:
    """``obj['metadata']``, created when missing."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        obj["metadata"] = metadata
    return metadata
