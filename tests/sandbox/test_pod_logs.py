"""Contract: ``GET /api/v1/namespaces/NS/pods/NAME/log`` as the API server serves a container's log.

Upstream (pkg/registry/core/pod/rest/log.go, PodLogOptions validation, ``kubectl logs``): the body is the
log as ``text/plain``; ``container`` defaults to the only container, is required when there are several
("a container name must be specified for pod P, choose one of: [...]"), and an unknown one is a 400
("container c is not valid for pod P"); a pod not scheduled yet has an empty log; ``tailLines`` keeps
the last N lines, ``sinceSeconds`` the lines newer than that, ``limitBytes`` the first N bytes; negative
``tailLines`` or non-positive ``sinceSeconds``/``limitBytes`` are 422 Invalid; ``timestamps=true``
prefixes each line with its RFC 3339 time. The sandbox takes a container's stdout from
``drsyncer.sandbox.pod_logs.append_container_log`` (the sandbox has no container runtime).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.pod_logs import append_container_log, container_log_path
from tests.sandbox.factories import eventually


def _pod(name: str, *containers: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": c, "image": "busybox:1"} for c in containers or ("main",)]},
    }


def _running(core: client.CoreV1Api, ns: str, body: dict[str, Any]) -> Any:
    name = str(body["metadata"]["name"])
    core.create_namespaced_pod(ns, body)  # type: ignore[arg-type]

    def running() -> Any:
        pod = core.read_namespaced_pod(name, ns)
        return pod.status is not None and pod.status.phase == "Running" and pod

    return eventually(running)


def _write(sandbox: FakeCluster, pod: Any, container: str, lines: list[str], *, age: float = 0) -> None:
    node = next(n for n in sandbox.nodes if n.name == pod.spec.node_name)
    path = container_log_path(
        node.root_dir,
        namespace=str(pod.metadata.namespace),
        workload=str(pod.metadata.name),
        container=container,
    )
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=age)
    for line in lines:
        append_container_log(path, line, now=when)


def test_log_is_plain_text_of_the_only_container(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    pod = _running(core, ns, _pod("one"))
    _write(sandbox, pod, "main", ["first line", "second line"])
    response: Any = core.read_namespaced_pod_log("one", ns, _preload_content=False)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.data.decode() == "first line\nsecond line\n"


def test_tail_since_and_limit_bound_what_is_read(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    pod = _running(core, ns, _pod("bounded"))
    _write(sandbox, pod, "main", ["old-1", "old-2"], age=3600)
    _write(sandbox, pod, "main", ["new-1", "new-2", "new-3"])
    assert core.read_namespaced_pod_log("bounded", ns, tail_lines=2) == "new-2\nnew-3\n"
    assert core.read_namespaced_pod_log("bounded", ns, since_seconds=60) == "new-1\nnew-2\nnew-3\n"
    assert core.read_namespaced_pod_log("bounded", ns, limit_bytes=8) == "old-1\nol"
    assert core.read_namespaced_pod_log("bounded", ns, tail_lines=0) == ""
    stamped = core.read_namespaced_pod_log("bounded", ns, tail_lines=1, timestamps=True)
    stamp, _, text = stamped.partition(" ")
    assert text == "new-3\n"
    assert datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None


def test_container_must_be_named_and_exist(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    pod = _running(core, ns, _pod("two", "app", "sidecar"))
    _write(sandbox, pod, "sidecar", ["from the sidecar"])
    with pytest.raises(ApiException) as unnamed:
        core.read_namespaced_pod_log("two", ns)
    assert unnamed.value.status == 400
    assert "a container name must be specified for pod two, choose one of: [app sidecar]" in str(
        unnamed.value.body
    )
    with pytest.raises(ApiException) as unknown:
        core.read_namespaced_pod_log("two", ns, container="nope")
    assert unknown.value.status == 400
    assert "container nope is not valid for pod two" in str(unknown.value.body)
    assert core.read_namespaced_pod_log("two", ns, container="sidecar") == "from the sidecar\n"


@pytest.mark.parametrize(("option", "value"), [("tail_lines", -1), ("since_seconds", 0), ("limit_bytes", 0)])
def test_out_of_range_options_are_invalid(core: client.CoreV1Api, ns: str, option: str, value: int) -> None:
    _running(core, ns, _pod("ranged"))
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log("ranged", ns, **{option: value})  # type: ignore[arg-type]
    assert refused.value.status == 422
    assert json.loads(str(refused.value.body))["reason"] == "Invalid"


def test_a_pod_not_scheduled_yet_has_an_empty_log(core: client.CoreV1Api, ns: str) -> None:
    pending = _pod("pending")
    pending["spec"]["nodeSelector"] = {"no-such-label": "x"}
    core.create_namespaced_pod(ns, pending)  # type: ignore[arg-type]
    assert core.read_namespaced_pod_log("pending", ns) == ""


def test_a_missing_pod_is_not_found(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("ghost", ns)
    assert missing.value.status == 404
