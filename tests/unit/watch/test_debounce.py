"""Per-object debouncing: bursts collapse to one sync per object, at a bounded delay."""

from __future__ import annotations

from drsyncer.kube.discovery import ApiResource
from tasks.watch.debounce import Debouncer
from tasks.watch.events import EventType, WatchEvent

CONFIGMAPS = ApiResource(
    group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True, verbs=("list", "watch")
)


def event(name: str, kind: EventType = "MODIFIED", version: int = 1) -> WatchEvent:
    obj = {"metadata": {"name": name, "resourceVersion": str(version)}}
    return WatchEvent(kind, CONFIGMAPS, name, obj)


def test_burst_on_one_object_becomes_one_event_with_the_latest_state() -> None:
    debouncer = Debouncer(window=1.0, max_delay=10.0)
    for step in range(50):
        debouncer.add(event("a", version=step), now=step * 0.01)
    assert debouncer.pop_due(now=0.6) == []
    due = debouncer.pop_due(now=1.5)
    assert [e.obj["metadata"]["resourceVersion"] for e in due] == ["49"]
    assert len(debouncer) == 0


def test_objects_are_debounced_independently() -> None:
    debouncer = Debouncer(window=1.0)
    debouncer.add(event("a"), now=0.0)
    debouncer.add(event("b"), now=0.8)
    assert [e.name for e in debouncer.pop_due(now=1.0)] == ["a"]
    assert [e.name for e in debouncer.pop_due(now=1.8)] == ["b"]


def test_delete_after_update_wins() -> None:
    debouncer = Debouncer(window=0.5)
    debouncer.add(event("a", "ADDED"), now=0.0)
    debouncer.add(event("a", "DELETED"), now=0.1)
    assert [e.type for e in debouncer.pop_due(now=1.0)] == ["DELETED"]


def test_an_object_that_never_goes_quiet_is_synced_after_max_delay() -> None:
    debouncer = Debouncer(window=1.0, max_delay=3.0)
    now = 0.0
    synced = []
    while now < 3.5:
        debouncer.add(event("busy"), now=now)
        synced += debouncer.pop_due(now=now)
        now += 0.5
    assert len(synced) == 1


def test_next_due_is_the_earliest_deadline() -> None:
    debouncer = Debouncer(window=1.0)
    assert debouncer.next_due() is None
    debouncer.add(event("a"), now=2.0)
    debouncer.add(event("b"), now=1.0)
    assert debouncer.next_due() == 2.0
