"""The watcher without a server: resume from versions, 410 → relist with differences, bookmarks, backoff."""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Iterator
from typing import Any, cast

from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource
from drsyncer.objects import KubeObject
from tasks.watch.events import WatchEvent
from tasks.watch.watcher import Backoff, KindWatcher

CONFIGMAPS = ApiResource(
    group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True, verbs=("list", "watch")
)


def cm(name: str, version: int) -> KubeObject:
    return {"metadata": {"name": name, "namespace": "shop", "resourceVersion": str(version)}}


class ScriptedClient:
    """Answers lists and watches from scripts; the last watch sets the stop event."""

    def __init__(
        self, lists: list[tuple[list[KubeObject], str]], watches: list[list[Any]], stop: threading.Event
    ) -> None:
        self.lists = lists
        self.watches = watches
        self.stop = stop
        self.watch_versions: list[str] = []

    def list(self, path: str, *, label_selector: str = "") -> tuple[builtins.list[KubeObject], str]:
        return self.lists.pop(0)

    def stream_lines(
        self, path: str, *, query: builtins.list[tuple[str, Any]], timeout: float | None = None
    ) -> Iterator[bytes]:
        self.watch_versions.append(dict(query)["resourceVersion"])
        script = self.watches.pop(0)
        if not self.watches:
            self.stop.set()
        for item in script:
            if isinstance(item, Exception):
                raise item
            yield json.dumps(item).encode()


def run(client: ScriptedClient, stop: threading.Event) -> tuple[KindWatcher, list[WatchEvent]]:
    events: list[WatchEvent] = []
    watcher = KindWatcher(
        client=cast(KubeClient, client),
        resource=CONFIGMAPS,
        namespace="shop",
        emit=events.append,
        stop=stop,
        backoff=Backoff(initial=0.001, maximum=0.002),
    )
    watcher.prime()
    watcher.run()
    return watcher, events


def test_410_relists_and_emits_only_the_differences() -> None:
    stop = threading.Event()
    expired = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}
    client = ScriptedClient(
        lists=[([cm("a", 1), cm("b", 2)], "10"), ([cm("a", 5), cm("b", 2), cm("c", 6)], "20")],
        watches=[[expired], [{"type": "MODIFIED", "object": cm("c", 21)}]],
        stop=stop,
    )
    watcher, events = run(client, stop)
    assert [(e.type, e.name) for e in events] == [("MODIFIED", "a"), ("ADDED", "c"), ("MODIFIED", "c")]
    assert client.watch_versions == ["10", "20"]
    assert watcher.stats.relists == 1
    assert watcher.known == {"a": "5", "b": "2", "c": "21"}


def test_objects_deleted_while_not_watching_are_reported_deleted_after_relist() -> None:
    stop = threading.Event()
    expired = {"type": "ERROR", "object": {"code": 410}}
    client = ScriptedClient(
        lists=[([cm("a", 1), cm("b", 2)], "10"), ([cm("a", 1)], "30")], watches=[[expired], []], stop=stop
    )
    _, events = run(client, stop)
    assert [(e.type, e.name, e.obj["kind"]) for e in events] == [("DELETED", "b", "ConfigMap")]


def test_bookmarks_and_ended_watches_resume_from_the_latest_version() -> None:
    stop = threading.Event()
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "42"}}}
    client = ScriptedClient(
        lists=[([], "10")],
        watches=[[{"type": "ADDED", "object": cm("a", 11)}, bookmark], [ConnectionResetError("reset")], []],
        stop=stop,
    )
    watcher, events = run(client, stop)
    assert client.watch_versions == ["10", "42", "42"]
    assert [(e.type, e.name) for e in events] == [("ADDED", "a")]
    assert watcher.stats.bookmarks == 1
    assert watcher.stats.reconnects == 1
    assert watcher.stats.relists == 0


def test_backoff_doubles_up_to_its_maximum_and_resets() -> None:
    backoff = Backoff(initial=0.5, maximum=2.0)
    assert [backoff.next_delay() for _ in range(4)] == [0.5, 1.0, 2.0, 2.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
