"""The continuous-sync loop of one mapping: watchers → debouncer → one-object syncs, plus periodic jobs.

:class:`ContinuousSync` primes one :class:`~tasks.watch.watcher.KindWatcher` per synced kind (each lists
its kind once, before the initial full sync, so no change falls between the two), runs the initial full
sync, then starts the watchers in threads. Its own thread takes their events from a queue, debounces them
per object and syncs each due object alone (:class:`~tasks.watch.object_sync.ObjectSyncer`) — never a
full sync per event. Every ``background_interval`` it runs a full sync (pending events are dropped first:
the full sync covers them), and every ``data_interval`` the PVC data job, when there is one.

It stops when ``stop`` is set or after ``max_duration``; watchers stop with it. Exceptions from the full
sync or data job are the caller's to decide on (they propagate); a failed single object is logged and left
to the next full sync. Clock and stop event are parameters so tests drive it without sleeping.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tasks.watch.debounce import Debouncer
from tasks.watch.events import WatchEvent
from tasks.watch.object_sync import ObjectSyncer
from tasks.watch.watcher import KindWatcher

IDLE_WAKEUP = 0.5
"""Longest the loop blocks waiting for an event before it checks the stop event and its timers."""


@dataclass
class ContinuousSettings:
    """Timing of continuous mode.

    Attributes:
        background_interval: seconds between full syncs (``continuous.backgroundSyncInterval``).
        debounce_window: seconds an object must be quiet before it is synced.
        debounce_max_delay: an object changing without pause is still synced this often.
        data_interval: seconds between PVC data syncs (None: no data job).
        max_duration: stop after this many seconds (None: until stopped).
    """

    background_interval: float
    debounce_window: float = 1.0
    debounce_max_delay: float = 10.0
    data_interval: float | None = None
    max_duration: float | None = None


@dataclass
class ContinuousStats:
    """What the loop did (returned to the flow, logged, and asserted on in tests)."""

    events: int = 0
    objects_synced: int = 0
    objects_written: int = 0
    objects_failed: int = 0
    full_syncs: int = 0
    data_syncs: int = 0
    relists: int = 0
    reconnects: int = 0
    last_watch_event: str = ""
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "events": self.events,
            "objectsSynced": self.objects_synced,
            "objectsWritten": self.objects_written,
            "objectsFailed": self.objects_failed,
            "fullSyncs": self.full_syncs,
            "dataSyncs": self.data_syncs,
            "relists": self.relists,
            "reconnects": self.reconnects,
            "lastWatchEvent": self.last_watch_event,
            "failures": self.failures[-20:],
        }


@dataclass
class ContinuousSync:
    """One mapping's continuous replication."""

    watchers: list[KindWatcher]
    syncer: ObjectSyncer
    full_sync: Callable[[], None]
    settings: ContinuousSettings
    stop: threading.Event
    events: queue.Queue[WatchEvent]
    data_sync: Callable[[], None] | None = None
    log: Callable[[str], None] = lambda message: None
    clock: Callable[[], float] = time.monotonic
    stats: ContinuousStats = field(default_factory=ContinuousStats)
    _threads: list[threading.Thread] = field(default_factory=list)

    def run(self) -> ContinuousStats:
        """Replicate until stopped; returns the statistics."""
        started = self.clock()
        deadline = None if self.settings.max_duration is None else started + self.settings.max_duration
        debouncer = Debouncer(self.settings.debounce_window, self.settings.debounce_max_delay)
        try:
            for watcher in self.watchers:
                watcher.prime()
            self._full_sync()
            self._start_watchers()
            next_full = self.clock() + self.settings.background_interval
            next_data = self._next_data(started)
            while not self.stop.is_set() and (deadline is None or self.clock() < deadline):
                now = self.clock()
                timers = [t for t in (debouncer.next_due(), next_full, next_data, deadline) if t is not None]
                self._collect(debouncer, timeout=max(0.0, min([now + IDLE_WAKEUP, *timers]) - now))
                for event in debouncer.pop_due(now=self.clock()):
                    self._sync_object(event)
                if self.clock() >= next_full:
                    debouncer.pop_all()
                    self._full_sync()
                    next_full = self.clock() + self.settings.background_interval
                if next_data is not None and self.clock() >= next_data:
                    self._data_sync()
                    next_data = self._next_data(self.clock())
        finally:
            self._stop_watchers()
        return self.stats

    def _collect(self, debouncer: Debouncer, *, timeout: float) -> None:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self.stats.events += 1
            self.stats.last_watch_event = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            debouncer.add(event, now=self.clock())
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return

    def _sync_object(self, event: WatchEvent) -> None:
        outcome = self.syncer.sync(event)
        if outcome is None:
            return
        self.stats.objects_synced += 1
        if outcome.status in ("synced", "pruned"):
            self.stats.objects_written += 1
            self.log(f"{event.resource.kind}/{event.name}: {outcome.action} ({event.type})")
        elif outcome.status == "failed":
            self.stats.objects_failed += 1
            self.stats.failures.append(f"{event.resource.kind}/{event.name}: {outcome.error}")
            self.log(
                f"{event.resource.kind}/{event.name} failed: {outcome.error}; the next full sync retries"
            )

    def _full_sync(self) -> None:
        self.full_sync()
        self.stats.full_syncs += 1

    def _data_sync(self) -> None:
        if self.data_sync is not None:
            self.data_sync()
            self.stats.data_syncs += 1

    def _next_data(self, now: float) -> float | None:
        if self.data_sync is None or self.settings.data_interval is None:
            return None
        return now + self.settings.data_interval

    def _start_watchers(self) -> None:
        for watcher in self.watchers:
            thread = threading.Thread(
                target=watcher.run, name=f"watch-{watcher.resource.qualified_name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _stop_watchers(self) -> None:
        """Stop the watchers; each notices within one watch event or bookmark (threads are daemons)."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self.stats.relists = sum(w.stats.relists for w in self.watchers)
        self.stats.reconnects = sum(w.stats.reconnects for w in self.watchers)
