"""Continuous mode end to end: the continuous-sync flow against two sandbox clusters and a Prefect server.

Each test starts the flow in a thread (Prefect context copied), waits until a sentinel object reached DR
(watchers primed, initial full sync done), changes the source and polls DR with a deadline. The flow is
stopped with ``request_stop`` and its statistics are checked.
"""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.config_files import remote_cluster_yaml

CHANGE_DEADLINE = 5.0


def poll(check: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> float:
    """Wait until ``check()`` is true; return the seconds it took (fail at the deadline)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"condition not met within {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - started


def write_config(
    directory: Path, *, source_kubeconfig: Path, dr_kubeconfig: Path, name: str, namespace: str
) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(
        f"""
{remote_cluster_yaml("source", source_kubeconfig)}---
{remote_cluster_yaml("dr", dr_kubeconfig)}---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {name}}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {namespace}
  replicationMode: Continuous
  resourceTypes: [configmaps]
  prune: true
  continuous: {{backgroundSyncInterval: 1h}}
"""
    )
    return path


def configmap(name: str, namespace: str, data: dict[str, str]) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


class Running:
    """A continuous flow running in a thread."""

    def __init__(
        self, mapping: str, config: Path, *, debounce_seconds: float = 0.2, **parameters: Any
    ) -> None:
        from flows.continuous import continuous_sync

        self.mapping = mapping
        self.result: dict[str, Any] = {}

        def target() -> None:
            try:
                self.result["stats"] = continuous_sync(
                    mapping=mapping,
                    config=[str(config)],
                    debounce_seconds=debounce_seconds,
                    max_duration_seconds=90,
                    **parameters,
                )
            except BaseException as error:
                self.result["error"] = error

        context = contextvars.copy_context()
        self.thread = threading.Thread(target=context.run, args=(target,), daemon=True)
        self.thread.start()

    def stop(self) -> dict[str, Any]:
        from flows.continuous import request_stop

        deadline = time.monotonic() + 30
        while self.thread.is_alive() and time.monotonic() < deadline:
            request_stop(self.mapping)
            self.thread.join(0.1)
        assert not self.thread.is_alive(), "continuous flow did not stop"
        assert "error" not in self.result, self.result.get("error")
        stats: dict[str, Any] = self.result["stats"]
        return stats


@pytest.fixture
def namespace(source_cluster: FakeCluster, dr_cluster: FakeCluster) -> str:
    name = f"cont-{uuid.uuid4().hex[:8]}"
    source_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@contextmanager
def continuous(
    tmp_path: Path,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    namespace: str,
    *,
    debounce_seconds: float = 0.2,
) -> Iterator[Running]:
    """Start the flow, wait until it replicates, yield it; stop it afterwards."""
    mapping = f"m-{namespace}"
    config = write_config(
        tmp_path,
        source_kubeconfig=source_kubeconfig,
        dr_kubeconfig=dr_kubeconfig,
        name=mapping,
        namespace=namespace,
    )
    source_cluster.create(configmap("sentinel", namespace, {"ready": "yes"}))
    running = Running(mapping, config, debounce_seconds=debounce_seconds)
    try:
        poll(lambda: dr_cluster.get("v1", "ConfigMap", "sentinel", namespace) is not None, timeout=60)
        yield running
    finally:
        running.result.setdefault("stats_after", None)
        if running.thread.is_alive():
            running.result["final"] = running.stop()


def typed_configmap(name: str, namespace: str, data: dict[str, str]) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, namespace=namespace), data=data)


def dr_data(dr_cluster: FakeCluster, namespace: str, name: str) -> dict[str, str] | None:
    obj = dr_cluster.get("v1", "ConfigMap", name, namespace)
    return None if obj is None else dict(obj.get("data") or {})


def test_created_updated_and_deleted_objects_reach_dr_within_five_seconds(
    tmp_path: Path,
    prefect_server: str,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    source_core: client.CoreV1Api,
    namespace: str,
) -> None:
    with continuous(
        tmp_path, source_kubeconfig, dr_kubeconfig, source_cluster, dr_cluster, namespace
    ) as running:
        source_core.create_namespaced_config_map(namespace, typed_configmap("web", namespace, {"v": "1"}))
        assert poll(lambda: dr_data(dr_cluster, namespace, "web") == {"v": "1"}, timeout=CHANGE_DEADLINE) < 5
        source_core.patch_namespaced_config_map("web", namespace, {"data": {"v": "2"}})
        assert poll(lambda: dr_data(dr_cluster, namespace, "web") == {"v": "2"}, timeout=CHANGE_DEADLINE) < 5
        source_core.delete_namespaced_config_map("web", namespace)
        assert poll(lambda: dr_data(dr_cluster, namespace, "web") is None, timeout=CHANGE_DEADLINE) < 5
        stats = running.stop()
    assert stats["fullSyncs"] == 1
    assert stats["objectsWritten"] == 3


BURST_DEBOUNCE_SECONDS = 3.0
"""The debounce window of the burst test: far longer than one round of 25 writes and their events."""


def _events_reach(mapping: str, count: int) -> bool:
    """Whether the running continuous flow of ``mapping`` has taken ``count`` events from its watchers."""
    from flows.continuous import running_stats

    return int((running_stats(mapping) or {}).get("events", 0)) >= count


def _written_name(entry: Any) -> str:
    """The ConfigMap a DR write was for (a POST names it in its body, other verbs in the path)."""
    if entry.method == "POST" and isinstance(entry.body, dict):
        return str(entry.body["metadata"]["name"])
    return str(entry.path.rsplit("/", 1)[-1])


def test_burst_of_four_versions_per_object_writes_each_object_once_with_its_last_version(
    tmp_path: Path,
    prefect_server: str,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    source_core: client.CoreV1Api,
    namespace: str,
) -> None:
    from flows.continuous import running_stats

    with continuous(
        tmp_path,
        source_kubeconfig,
        dr_kubeconfig,
        source_cluster,
        dr_cluster,
        namespace,
        debounce_seconds=BURST_DEBOUNCE_SECONDS,
    ) as running:
        source_cluster.audit.clear()
        dr_cluster.audit.clear()
        stats = running_stats(running.mapping)
        assert stats is not None
        seen = int(stats["events"])
        names = [f"burst-{index}" for index in range(25)]
        for version in range(4):
            for name in names:
                if version == 0:
                    source_core.create_namespaced_config_map(
                        namespace, typed_configmap(name, namespace, {"v": "0"})
                    )
                else:
                    source_core.patch_namespaced_config_map(name, namespace, {"data": {"v": str(version)}})
            seen += len(names)
            # each version reaches the product as its own events before the next one is written, so only
            # the debounce window (not one drained batch) can merge the four versions of an object
            poll(partial(_events_reach, running.mapping, seen), timeout=30)
        poll(
            lambda: all(dr_data(dr_cluster, namespace, n) == {"v": "3"} for n in names),
            timeout=BURST_DEBOUNCE_SECONDS + 30,
        )
        stats = running.stop()
    writes = [
        _written_name(entry)
        for entry in dr_cluster.audit.mutations(path_regex=f"/namespaces/{namespace}/configmaps")
    ]
    source_lists = [
        entry
        for entry in source_cluster.audit.requests(
            method="GET", path_regex=f"/namespaces/{namespace}/configmaps$"
        )
        if entry.query.get("watch") not in ("true", "1")
    ]
    assert sorted(writes) == sorted(names), "exactly one DR write per object"
    assert stats["objectsWritten"] == len(names)
    assert stats["events"] >= 4 * len(names)
    assert source_lists == [], "a change must never trigger a full sync (a list of the source)"
    assert stats["fullSyncs"] == 1


def test_survives_watch_expiry_410_and_relists(
    tmp_path: Path,
    prefect_server: str,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    namespace: str,
) -> None:
    with continuous(
        tmp_path, source_kubeconfig, dr_kubeconfig, source_cluster, dr_cluster, namespace
    ) as running:
        source_cluster.create(configmap("before-compaction", namespace, {"v": "1"}))
        source_cluster.compact()
        source_cluster.create(configmap("after-compaction", namespace, {"v": "1"}))
        for name in ("before-compaction", "after-compaction"):
            poll(lambda n=name: dr_data(dr_cluster, namespace, n) == {"v": "1"}, timeout=CHANGE_DEADLINE)  # type: ignore[misc]
        stats = running.stop()
    assert stats["relists"] >= 1


def test_survives_a_dropped_connection_and_failing_reconnects(
    tmp_path: Path,
    prefect_server: str,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    namespace: str,
) -> None:
    with continuous(
        tmp_path, source_kubeconfig, dr_kubeconfig, source_cluster, dr_cluster, namespace
    ) as running:
        source_cluster.faults.add(
            method="GET", path_regex=f"/namespaces/{namespace}/configmaps$", reset=True, times=6
        )
        server = source_cluster._server  # the sandbox has no public "drop connections" yet
        assert server is not None
        server.close_connections()
        source_cluster.create(configmap("while-disconnected", namespace, {"v": "1"}))
        poll(lambda: dr_data(dr_cluster, namespace, "while-disconnected") == {"v": "1"}, timeout=10)
        stats = running.stop()
    assert stats["reconnects"] >= 1
