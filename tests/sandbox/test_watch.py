"""Watch: events from a resourceVersion, selectors, timeouts, bookmarks and 410 Expired."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, watch

from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Raw, Target


def _events(core: client.CoreV1Api, ns: str, count: int, **kwargs: Any) -> list[tuple[str, str]]:
    watcher = watch.Watch()
    seen: list[tuple[str, str]] = []
    for event in watcher.stream(core.list_namespaced_config_map, ns, timeout_seconds=5, **kwargs):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) >= count:
            watcher.stop()
    return seen


def test_watch_from_resource_version_replays_changes(core: client.CoreV1Api, ns: str) -> None:
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("a", ns)
    assert _events(core, ns, 3, resource_version=version) == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
    ]


def test_watch_without_version_starts_with_current_objects(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "labels": {"w": "1"}}})
    assert _events(core, ns, 1, label_selector="w=1") == [("ADDED", "a")]


def test_watch_with_label_selector(core: client.CoreV1Api, ns: str) -> None:
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "skip"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "take", "labels": {"w": "1"}}})
    assert _events(core, ns, 1, resource_version=version, label_selector="w=1") == [("ADDED", "take")]


def test_watch_with_field_selector(core: client.CoreV1Api, ns: str) -> None:
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "skip"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "take"}})
    events = _events(core, ns, 1, resource_version=version, field_selector="metadata.name=take")
    assert events == [("ADDED", "take")]


def test_object_leaving_the_selector_is_deleted_for_the_watcher(core: client.CoreV1Api, ns: str) -> None:
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "labels": {"w": "1"}}})
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"w": "2"}}})
    events = _events(core, ns, 2, resource_version=version, label_selector="w=1")
    assert events == [("ADDED", "a"), ("DELETED", "a")]


def test_watch_timeout_ends_the_stream(raw: Raw, ns: str) -> None:
    status, _body, _ = raw(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", query={"watch": "1", "timeoutSeconds": "1"}
    )
    assert status == 200


@pytest.mark.parametrize("flag", ["1", "true", "True"])
def test_watch_flag_spellings(raw: Raw, core: client.CoreV1Api, ns: str, flag: str) -> None:
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    status, body, _ = raw(
        "GET",
        f"/api/v1/namespaces/{ns}/configmaps",
        query={"watch": flag, "resourceVersion": version, "timeoutSeconds": "1"},
    )
    assert status == 200
    lines = body if isinstance(body, dict) else json.loads(str(body).splitlines()[0])
    assert lines["type"] == "ADDED"


def test_bookmarks_when_allowed(core: client.CoreV1Api, ns: str, target: Target) -> None:
    # real servers send a bookmark about once a minute; the contract sandbox every 0.2 s
    timeout = 5 if target.sandbox is not None else 90
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    watcher = watch.Watch()
    kinds = []
    for event in watcher.stream(
        core.list_namespaced_config_map,
        ns,
        resource_version=version,
        allow_watch_bookmarks=True,
        timeout_seconds=timeout,
    ):
        kinds.append(event["type"])
        if "BOOKMARK" in kinds:
            watcher.stop()
    assert "BOOKMARK" in kinds


def test_watch_from_compacted_version_is_410(
    raw: Raw, core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    sandbox.compact()
    status, body, _ = raw(
        "GET",
        f"/api/v1/namespaces/{ns}/configmaps",
        query={"watch": "true", "resourceVersion": version, "timeoutSeconds": "1"},
    )
    event = body if isinstance(body, dict) else json.loads(str(body).splitlines()[0])
    if status == 200:
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410
        assert event["object"]["reason"] == "Expired"
    else:
        assert status == 410


def test_typed_watch_raises_on_expired(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    from kubernetes.client.exceptions import ApiException

    version = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    sandbox.compact()
    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version=version, timeout_seconds=1
        ):
            pass
    assert exc.value.status == 410
