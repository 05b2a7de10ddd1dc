"""Watch streams: the events a ``?watch=true`` request receives, as a generator of JSON lines.

Semantics follow kube-apiserver: without ``resourceVersion`` (or with ``0``) the stream opens with a
synthetic ADDED for every current object; from a version N it replays recorded changes after N, or, when
N predates the last ``compact()``, sends one ERROR event carrying a 410 Expired Status and ends.
Selectors apply per event (an object leaving the selection is reported DELETED, entering it ADDED).
``allowWatchBookmarks`` adds BOOKMARK events when idle; ``timeoutSeconds`` ends the stream; so does the
cluster stopping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.resources import ResourceType
from drsyncer.sandbox.selectors import field_matcher, label_matcher
from drsyncer.sandbox.status import ApiError

DEFAULT_TIMEOUT = 1800.0


def is_watch(query: dict[str, str]) -> bool:
    """Whether the query asks for a watch (``watch=1|true|True``)."""
    return query.get("watch", "").lower() in ("1", "true")


def stream(
    api: Api,
    resource: ResourceType,
    namespace: str | None,
    query: dict[str, str],
    *,
    bookmark_interval: float,
) -> Iterator[bytes]:
    """Yield the watch events for one request, one JSON document per line."""
    labels = label_matcher(query.get("labelSelector"))
    fields = field_matcher(query.get("fieldSelector"), resource.plural, resource.kind)
    bookmarks = query.get("allowWatchBookmarks", "").lower() in ("1", "true")
    timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    deadline = time.monotonic() + timeout
    store = api.store

    def selected(obj: KubeObject | None) -> bool:
        if obj is None:
            return False
        metadata = obj.get("metadata", {})
        if namespace is not None and metadata.get("namespace", "") != namespace:
            return False
        return (labels is None or labels(obj)) and (fields is None or fields(obj))

    def line(kind: str, obj: KubeObject) -> bytes:
        return (
            json.dumps({"type": kind, "object": api.present(resource, obj)}, separators=(",", ":")).encode()
            + b"\n"
        )

    requested = query.get("resourceVersion") or ""
    with store.lock:
        if requested in ("", "0"):
            last = store.resource_version
            initial = [o for o in store.list(resource.key, namespace) if selected(o)]
        else:
            try:
                last = int(requested)
            except ValueError as exc:
                raise ApiError(400, "BadRequest", f"invalid resource version: {requested}") from exc
            initial = []
            if last < store.compacted:
                expired: dict[str, Any] = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": f"too old resource version: {last} ({store.compacted})",
                    "reason": "Expired",
                    "code": 410,
                }
                initial_error = json.dumps({"type": "ERROR", "object": expired}).encode() + b"\n"
                yield initial_error
                return
    for obj in initial:
        yield line("ADDED", obj)
    last_sent = time.monotonic()
    while not store.closed:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        with store.changed:
            if store.closed:
                return
            if last < store.compacted:
                return
            events = store.events_since(last)
            if not events:
                store.changed.wait(min(remaining, bookmark_interval if bookmarks else remaining, 1.0))
                events = store.events_since(last)
                if not events and last >= store.compacted:
                    last = max(last, store.resource_version)
        for event in events:
            last = event.resource_version
            if event.key != resource.key:
                continue
            now_in, was_in = selected(event.obj), selected(event.old)
            if event.type == "DELETED":
                if was_in or now_in:
                    yield line("DELETED", event.obj)
                    last_sent = time.monotonic()
            elif now_in:
                yield line("ADDED" if event.type == "ADDED" or not was_in else "MODIFIED", event.obj)
                last_sent = time.monotonic()
            elif was_in:
                yield line("DELETED", event.obj)
                last_sent = time.monotonic()
        if bookmarks and time.monotonic() - last_sent >= bookmark_interval:
            bookmark = {
                "kind": resource.kind,
                "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": str(last)},
            }
            yield json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n"
            last_sent = time.monotonic()
