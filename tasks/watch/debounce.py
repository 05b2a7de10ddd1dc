"""Per-object debouncing: many events of one object within a short window become one sync.

An object becomes *due* ``window`` seconds after its latest event (it went quiet), or at the latest
``max_delay`` seconds after its first pending event (an object that never stops changing is still synced
regularly). Only the latest event of an object is kept: it carries the object's latest state, and a
DELETED after ADDED/MODIFIED (or the reverse) simply wins. Time is a parameter (``now``), so this is
plain, deterministic and tested without threads or sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tasks.watch.events import ObjectKey, WatchEvent


@dataclass
class _Pending:
    event: WatchEvent
    first_seen: float
    last_seen: float


@dataclass
class Debouncer:
    """Coalesces watch events per object.

    Attributes:
        window: seconds of quiet after an object's latest event before it is synced.
        max_delay: seconds after an object's first pending event after which it is synced anyway.
    """

    window: float = 1.0
    max_delay: float = 10.0
    _pending: dict[ObjectKey, _Pending] = field(default_factory=dict)

    def add(self, event: WatchEvent, *, now: float) -> None:
        """Record ``event``; it replaces any pending event of the same object."""
        pending = self._pending.get(event.key)
        if pending is None:
            self._pending[event.key] = _Pending(event, now, now)
        else:
            pending.event = event
            pending.last_seen = now

    def _due_at(self, pending: _Pending) -> float:
        return min(pending.last_seen + self.window, pending.first_seen + self.max_delay)

    def pop_due(self, *, now: float) -> list[WatchEvent]:
        """The events whose object is due, oldest first; they are no longer pending."""
        due = sorted(
            (item for item in self._pending.items() if self._due_at(item[1]) <= now),
            key=lambda item: item[1].first_seen,
        )
        for key, _ in due:
            del self._pending[key]
        return [pending.event for _, pending in due]

    def pop_all(self) -> list[WatchEvent]:
        """Every pending event (e.g. before a full sync, which covers them), oldest first."""
        events = [p.event for p in sorted(self._pending.values(), key=lambda p: p.first_seen)]
        self._pending.clear()
        return events

    def next_due(self) -> float | None:
        """When the next object becomes due (None when nothing is pending)."""
        return min((self._due_at(p) for p in self._pending.values()), default=None)

    def __len__(self) -> int:
        return len(self._pending)
