"""Test aids (sandbox-only): audit log, fault injection, reset, HTTPS with a bearer token."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster


def test_audit_log_records_requests(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    sandbox.audit.clear()
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    core.read_namespaced_config_map("a", ns)
    entries = sandbox.audit.requests(path_regex=f"/namespaces/{ns}/configmaps")
    assert [(e.method, e.status) for e in entries] == [("POST", 201), ("GET", 200)]
    assert entries[0].body["metadata"]["name"] == "a"
    assert entries[0].user_agent


def test_mutations_exclude_reads_and_dry_runs(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    sandbox.audit.clear()
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}}, dry_run="All")
    core.list_namespaced_config_map(ns)
    assert sandbox.audit.mutations(path_regex=ns) == []
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    assert [e.method for e in sandbox.audit.mutations(path_regex=ns)] == ["POST"]


def test_fault_500_then_recovers(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    sandbox.faults.add(method="GET", path_regex=f"/namespaces/{ns}/configmaps$", status=500, times=1)
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(ns)
    assert exc.value.status == 500
    assert core.list_namespaced_config_map(ns).items is not None


def test_fault_429_has_retry_after(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    # a POST: urllib3 would transparently retry an idempotent GET after Retry-After
    sandbox.faults.add(method="POST", path_regex=f"/namespaces/{ns}/", status=429, retry_after=3)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    assert exc.value.status == 429
    assert exc.value.headers["Retry-After"] == "3"
    assert '"reason":"TooManyRequests"' in exc.value.body


def test_get_reset_is_retried_by_the_client(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    sandbox.audit.clear()
    sandbox.faults.add(method="GET", path_regex=f"/namespaces/{ns}/configmaps$", reset=True, times=1)
    assert core.list_namespaced_config_map(ns).items is not None
    statuses = [
        e.status for e in sandbox.audit.requests(method="GET", path_regex=f"/namespaces/{ns}/configmaps$")
    ]
    assert statuses == [0, 200]


def test_fault_connection_reset_on_write_surfaces(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    sandbox.faults.add(method="POST", path_regex=f"/namespaces/{ns}/configmaps", reset=True)
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError, ApiException)):
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    assert sandbox.audit.requests(method="POST", path_regex=ns, status=0)


def test_fault_latency_delays(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    rule = sandbox.faults.add(method="GET", path_regex=f"/namespaces/{ns}/configmaps", latency=0.2)
    started = time.monotonic()
    core.list_namespaced_config_map(ns)
    assert time.monotonic() - started >= 0.2
    assert rule.hits == 1


def test_fault_before_changes_the_world_just_before_the_request_is_served(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    def appear() -> None:
        sandbox.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": ns}}
        )

    rule = sandbox.faults.add(method="GET", path_regex=f"/namespaces/{ns}/configmaps$", before=appear)

    names = [item.metadata.name for item in core.list_namespaced_config_map(ns).items]

    assert "late" in names
    assert rule.hits == 1


def test_fault_times_runs_out(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    sandbox.faults.add(method="GET", path_regex=f"/namespaces/{ns}/configmaps", status=503, times=2)
    for _ in range(2):
        with pytest.raises(ApiException):
            core.list_namespaced_config_map(ns)
    core.list_namespaced_config_map(ns)


def test_reset_restores_defaults(source_cluster: FakeCluster, source_core: client.CoreV1Api) -> None:
    source_core.create_namespace({"metadata": {"name": "scratch"}})
    source_cluster.reset()
    names = {n.metadata.name for n in source_core.list_namespace().items}
    assert names == {"default", "kube-system", "kube-public", "kube-node-lease"}
    assert source_core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
    assert {n.metadata.name for n in source_core.list_node().items} == {"source-node-1", "source-node-2"}
    assert source_cluster.audit.mutations() == []


def test_https_with_bearer_token(tmp_path: Path) -> None:
    with FakeCluster("secure", https=True, token="s3cret") as cluster:
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", "secure")
        api = config.new_client_from_config(str(kubeconfig), context="secure")
        assert cluster.url.startswith("https://")
        assert client.CoreV1Api(api).read_namespace("default").metadata.name == "default"
        api.close()
        anonymous = client.Configuration()
        anonymous.host = cluster.url
        assert cluster.certificates is not None
        (tmp_path / "ca.crt").write_bytes(cluster.certificates.ca_pem)
        anonymous.ssl_ca_cert = str(tmp_path / "ca.crt")
        with pytest.raises(ApiException) as exc:
            client.CoreV1Api(client.ApiClient(anonymous)).read_namespace("default")
        assert exc.value.status == 401


def test_stop_ends_watches_and_is_quick(tmp_path: Path) -> None:
    import threading

    from kubernetes import watch

    cluster = FakeCluster("short").start()
    api = config.new_client_from_config(
        str(cluster.write_kubeconfig(tmp_path / "kc", "short")), context="short"
    )
    ended = threading.Event()

    def consume() -> None:
        try:
            for _ in watch.Watch().stream(client.CoreV1Api(api).list_namespace, timeout_seconds=30):
                pass
        except Exception:
            pass
        ended.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.1)  # let the watch connect (not waiting for state: stop must work either way)
    started = time.monotonic()
    cluster.close()
    assert ended.wait(5)
    assert time.monotonic() - started < 5
