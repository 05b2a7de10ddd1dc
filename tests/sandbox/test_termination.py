"""Graceful pod deletion, as kube-apiserver and the kubelet do it (``drsyncer/sandbox/termination.py``).

Upstream: a DELETE of a pod sets ``deletionTimestamp`` and ``deletionGracePeriodSeconds`` (the
``DeleteOptions.gracePeriodSeconds``, else ``spec.terminationGracePeriodSeconds``) and returns the pod; the
pod stays (``Terminating``) until the kubelet has stopped its containers, at most the grace period, then the
kubelet deletes it with grace 0. Finalizers keep it after that. ``gracePeriodSeconds=0`` deletes at once.
The sandbox plays the grace period scaled (``seconds_per_grace_second``); on a real cluster the kubelet
plays it in full.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Target
from tests.sandbox.factories import eventually

SCALE = 0.05
"""Sandbox seconds per grace second in these tests (20 s of grace → 1 s)."""


@pytest.fixture
def graceful(target: Target) -> Iterator[float]:
    """Turn graceful termination on in the sandbox (a real cluster always has it); yields the time scale."""
    if target.sandbox is None:
        yield 1.0
        return
    termination = target.sandbox.api.termination
    termination.seconds_per_grace_second = SCALE
    yield SCALE
    termination.seconds_per_grace_second = 0.0


def _pod(name: str, *, grace: int, finalizers: list[str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if finalizers:
        metadata["finalizers"] = finalizers
    return {
        "metadata": metadata,
        "spec": {
            "terminationGracePeriodSeconds": grace,
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}],
        },
    }


def _scheduled(core: client.CoreV1Api, ns: str, pod: dict[str, Any]) -> None:
    """Create ``pod`` and wait until a node runs it (an unscheduled pod is deleted at once)."""
    core.create_namespaced_pod(ns, pod)
    name = pod["metadata"]["name"]
    eventually(lambda: core.read_namespaced_pod(name, ns).status.phase == "Running", timeout=120)


def _gone(core: client.CoreV1Api, name: str, ns: str) -> bool:
    try:
        core.read_namespaced_pod(name, ns)
    except ApiException as exc:
        return exc.status == 404
    return False


def test_deleted_pod_stays_terminating_for_its_grace_period_then_goes(
    core: client.CoreV1Api, ns: str, graceful: float
) -> None:
    _scheduled(core, ns, _pod("p", grace=20))
    started = time.monotonic()

    deleted = core.delete_namespaced_pod("p", ns)

    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 20
    still = core.read_namespaced_pod("p", ns)
    assert still.metadata.deletion_timestamp is not None
    eventually(lambda: _gone(core, "p", ns), timeout=20 * graceful + 30)
    if graceful < 1.0:  # the sandbox: it waited out the (scaled) grace period, not less
        assert time.monotonic() - started >= 20 * graceful * 0.9


def test_delete_options_grace_period_overrides_the_pod_spec(
    core: client.CoreV1Api, ns: str, graceful: float
) -> None:
    _scheduled(core, ns, _pod("p", grace=20))

    deleted = core.delete_namespaced_pod("p", ns, grace_period_seconds=3)

    assert deleted.metadata.deletion_grace_period_seconds == 3
    eventually(lambda: _gone(core, "p", ns), timeout=3 * graceful + 30)


def test_grace_period_zero_deletes_the_pod_at_once(core: client.CoreV1Api, ns: str, graceful: float) -> None:
    _scheduled(core, ns, _pod("p", grace=20))

    core.delete_namespaced_pod("p", ns, grace_period_seconds=0)

    assert _gone(core, "p", ns)


def test_a_pod_no_node_runs_yet_is_deleted_at_once(core: client.CoreV1Api, ns: str, graceful: float) -> None:
    pod = _pod("p", grace=20)
    pod["spec"]["nodeSelector"] = {"example.com/no-such-node": "true"}
    core.create_namespaced_pod(ns, pod)

    core.delete_namespaced_pod("p", ns)

    assert _gone(core, "p", ns)


def test_a_finalizer_keeps_the_pod_after_its_grace_period(
    core: client.CoreV1Api, ns: str, graceful: float
) -> None:
    _scheduled(core, ns, _pod("p", grace=2, finalizers=["example.com/hold"]))
    core.delete_namespaced_pod("p", ns)

    eventually(
        lambda: core.read_namespaced_pod("p", ns).metadata.deletion_grace_period_seconds == 0,
        timeout=2 * graceful + 30,
    )
    assert not _gone(core, "p", ns)
    core.patch_namespaced_pod("p", ns, {"metadata": {"finalizers": None}})
    eventually(lambda: _gone(core, "p", ns), timeout=30)


def test_pods_go_at_once_when_the_sandbox_time_scale_is_zero(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    assert sandbox.api.termination.seconds_per_grace_second == 0.0
    _scheduled(core, ns, _pod("p", grace=20))

    core.delete_namespaced_pod("p", ns)

    assert _gone(core, "p", ns)
