"""Watching one kind in the source namespace, the way client-go's reflector does.

:meth:`KindWatcher.prime` lists the kind and remembers the list's ``resourceVersion`` and every object's
version (no events: the initial full sync covers what exists). :meth:`KindWatcher.run` then watches from
that version with ``allowWatchBookmarks`` (bookmarks only advance the version), reporting each change
through ``emit``. When a watch ends (server timeout, dropped connection) it resumes from the last version
seen; when that version is too old (``410 Expired``, e.g. after etcd compaction) it lists again and emits
the differences with what it knew — ADDED/MODIFIED for new or changed versions, DELETED for objects that
disappeared — so nothing that happened while it was not watching is lost. Failures back off
exponentially (capped) and never end the watcher; only the ``stop`` event does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drsyncer.errors import ClusterError
from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource
from drsyncer.objects import KubeObject
from tasks.watch.events import EventType, WatchEvent

WATCH_TIMEOUT_SECONDS = 300
"""Server-side duration of one watch request; the watcher resumes from its last version afterwards."""


class WatchExpiredError(Exception):
    """The watch's resourceVersion is too old (410 Gone/Expired): list again."""


@dataclass
class Backoff:
    """Exponential backoff between failed attempts: ``initial`` doubling up to ``maximum``."""

    initial: float = 0.5
    maximum: float = 30.0
    _next: float = 0.0

    def next_delay(self) -> float:
        """The delay before the next attempt (and double it for the one after)."""
        delay = self._next or self.initial
        self._next = min(delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """After a success: start from ``initial`` again."""
        self._next = 0.0


@dataclass
class WatcherStats:
    """What one watcher went through (for logs and tests)."""

    events: int = 0
    bookmarks: int = 0
    relists: int = 0
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class KindWatcher:
    """List + watch one resource in one namespace; report changes through ``emit``."""

    client: KubeClient
    resource: ApiResource
    namespace: str
    emit: Callable[[WatchEvent], None]
    stop: threading.Event
    label_selector: str = ""
    timeout_seconds: int = WATCH_TIMEOUT_SECONDS
    backoff: Backoff = field(default_factory=Backoff)
    log: Callable[[str], None] = lambda message: None
    resource_version: str = ""
    known: dict[str, str] = field(default_factory=dict)
    """Object name → resourceVersion of every object currently in the source."""
    stats: WatcherStats = field(default_factory=WatcherStats)

    @property
    def path(self) -> str:
        """The collection path in the namespace."""
        return self.resource.path(self.namespace)

    def prime(self) -> None:
        """List once and remember versions, without emitting anything."""
        items, self.resource_version = self._list()
        self.known = {_name(item): _version(item) for item in items}

    def run(self) -> None:
        """Watch until ``stop`` is set; never raises."""
        while not self.stop.is_set():
            try:
                if not self.resource_version:
                    self.relist()
                self.watch_once()
                self.backoff.reset()
            except WatchExpiredError:
                self.log(f"{self.resource.qualified_name}: watch expired (410); listing again")
                self.resource_version = ""
            except Exception as error:
                self.stats.reconnects += 1
                self.stats.errors.append(str(error))
                delay = self.backoff.next_delay()
                self.log(
                    f"{self.resource.qualified_name}: watch failed ({error}); reconnecting in {delay:.1f}s"
                )
                self.stop.wait(delay)

    def relist(self) -> None:
        """List again and emit what changed since the versions known (410 recovery)."""
        items, resource_version = self._list()
        self.stats.relists += 1
        current = {_name(item): item for item in items}
        for name, item in current.items():
            previous = self.known.get(name)
            if previous != _version(item):
                self._emit("ADDED" if previous is None else "MODIFIED", item)
        for name in set(self.known) - set(current):
            self._emit("DELETED", self._tombstone(name))
        self.known = {name: _version(item) for name, item in current.items()}
        self.resource_version = resource_version

    def watch_once(self) -> None:
        """One watch request from ``resource_version`` until it ends or ``stop`` is set."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("resourceVersion", self.resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", self.timeout_seconds),
        ]
        if self.label_selector:
            query.append(("labelSelector", self.label_selector))
        lines = self.client.stream_lines(self.path, query=query, timeout=self.timeout_seconds + 30)
        try:
            for line in lines:
                self._handle(json.loads(line))
                if self.stop.is_set():
                    return
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()

    def _handle(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        obj: KubeObject = event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise WatchExpiredError(str(obj.get("message", "")))
            raise ClusterError(f"watch {self.path}: {obj.get('message', obj)}")
        version = _version(obj)
        if version:
            self.resource_version = version
        if kind == "BOOKMARK":
            self.stats.bookmarks += 1
            return
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return
        name = _name(obj)
        if kind == "DELETED":
            self.known.pop(name, None)
        else:
            self.known[name] = version
        self._emit(kind, obj)  # type: ignore[arg-type]

    def _emit(self, kind: EventType, obj: KubeObject) -> None:
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        self.stats.events += 1
        self.emit(WatchEvent(kind, self.resource, _name(obj), obj))

    def _list(self) -> tuple[list[KubeObject], str]:
        return self.client.list(self.path, label_selector=self.label_selector)

    def _tombstone(self, name: str) -> KubeObject:
        return {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "metadata": {"name": name, "namespace": self.namespace},
        }


def _name(obj: KubeObject) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _version(obj: KubeObject) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
