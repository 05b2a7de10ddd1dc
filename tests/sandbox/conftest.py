"""Fixtures of the sandbox contract suite: one target cluster, fresh namespaces, typed/dynamic/raw clients.

The target is a session-scoped sandbox ``FakeCluster`` — or, when ``DRSYNCER_CONTRACT_KUBECONFIG`` names a
kubeconfig, that real cluster (``DRSYNCER_CONTRACT_CONTEXT`` picks a context). Tests that need sandbox-only
helpers (kubelet, audit log, faults, compaction) take the ``sandbox`` fixture, which skips on a real
cluster. Every test works in its own uniquely named namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from drsyncer.sandbox import FakeCluster, NodeSpec

REAL_KUBECONFIG = os.environ.get("DRSYNCER_CONTRACT_KUBECONFIG", "")
KUBECTL = shutil.which("kubectl")


@dataclass
class Target:
    """The cluster under test."""

    kubeconfig: Path
    context: str | None
    sandbox: FakeCluster | None


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The contract target: a real cluster when configured, else a sandbox cluster."""
    if REAL_KUBECONFIG:
        yield Target(Path(REAL_KUBECONFIG), os.environ.get("DRSYNCER_CONTRACT_CONTEXT") or None, None)
        return
    root = tmp_path_factory.mktemp("contract")
    nodes = [
        NodeSpec("contract-node-1", root / "node-1", internal_ip="10.1.0.11", external_ip="192.0.2.11"),
        NodeSpec("contract-node-2", root / "node-2", internal_ip="10.1.0.12", external_ip="192.0.2.12"),
    ]
    cluster = FakeCluster("contract", nodes=nodes, bookmark_interval=0.2, background=True).start()
    kubeconfig = cluster.write_kubeconfig(root / "kubeconfig", "contract")
    yield Target(kubeconfig, "contract", cluster)
    cluster.close()


@pytest.fixture
def sandbox(target: Target) -> Iterator[FakeCluster]:
    """The sandbox cluster (skips against a real cluster); faults cleared afterwards."""
    if target.sandbox is None:
        pytest.skip("sandbox-only helper (running against a real cluster)")
    yield target.sandbox
    target.sandbox.faults.clear()


@pytest.fixture(scope="session")
def api(target: Target) -> Iterator[client.ApiClient]:
    """Typed ApiClient for the target."""
    api_client = config.new_client_from_config(str(target.kubeconfig), context=target.context)
    yield api_client
    api_client.close()


@pytest.fixture(scope="session")
def core(api: client.ApiClient) -> client.CoreV1Api:
    """CoreV1Api."""
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    """AppsV1Api."""
    return client.AppsV1Api(api)


@pytest.fixture(scope="session")
def batch(api: client.ApiClient) -> client.BatchV1Api:
    """BatchV1Api."""
    return client.BatchV1Api(api)


@pytest.fixture(scope="session")
def dyn(api: client.ApiClient) -> DynamicClient:
    """DynamicClient."""
    return DynamicClient(api)


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    """A fresh, uniquely named namespace, deleted afterwards."""
    name = f"ct-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    with contextlib.suppress(ApiException):
        core.delete_namespace(name)


@dataclass
class Raw:
    """Raw HTTP through the typed client's transport (auth and TLS included)."""

    api: client.ApiClient

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> tuple[int, Any, dict[str, str]]:
        """Send one request; returns (status, parsed body, headers) — errors are returned, not raised."""
        method, url, headers, payload, _ = self.api.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": accept},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(method, url, header_params=headers, body=payload)
            raw, status, headers = response.read(), response.status, dict(response.headers)
        except ApiException as exc:
            raw, status, headers = exc.body, exc.status, dict(exc.headers or {})
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode() if isinstance(raw, bytes) else raw
        return status, parsed, headers


@pytest.fixture(scope="session")
def raw(api: client.ApiClient) -> Raw:
    """Raw requests: ``status, body, headers = raw("GET", "/api/v1")``."""
    return Raw(api)


@pytest.fixture
def kubectl(target: Target) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run kubectl against the target (skips when kubectl is absent)."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed (see .ci/run)")

    def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [KUBECTL, "--kubeconfig", str(target.kubeconfig)]
        if target.context:
            argv += ["--context", target.context]
        result = subprocess.run(
            [*argv, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    return run
