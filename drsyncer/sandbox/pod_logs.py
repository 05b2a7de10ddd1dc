"""The ``pods/log`` subresource: a container's stdout, served as the kubelet serves it through the API.

The sandbox has no container runtime. A process that plays a container (a sandbox node agent plays the
agent DaemonSet's pod on its node) writes its stdout lines with :func:`append_container_log` to a file in
the CRI log format the kubelet reads (``<RFC 3339 nano time> stdout F <line>``) below the node's root:
``<node root>/container-logs/<namespace>/<workload>/<container>.log``, where the workload is the pod's
controller (an ownerReference with ``controller: true``, e.g. a DaemonSet, which has one pod per node) or
else the pod itself. ``GET /api/v1/namespaces/NS/pods/NAME/log`` (:func:`pod_log`) then finds the pod, its
node and that file, and answers like the API server:

- ``text/plain``, the lines only (``timestamps=true`` prefixes each with its time);
- ``container`` defaults to the only container; a pod with several and no ``container`` is a 400 (``a
  container name must be specified for pod P, choose one of: [a b]``), and an unknown container is a 400
  (``container c is not valid for pod P``);
- a pod not scheduled yet: an empty log; on a node but not Running: 400 (``container "c" in pod "P" is
  waiting to start: ContainerCreating``, the kubelet's answer);
- ``sinceSeconds`` (lines newer than that), then ``tailLines`` (the last N), then ``limitBytes`` (the first
  N bytes of what is left; may cut a line); a negative or zero ``sinceSeconds``/``limitBytes`` or negative
  ``tailLines`` is a 422 ``PodLogOptions`` Invalid, as the API server's validation of ``PodLogOptions``;
- ``follow`` is not modelled (answered as a plain read).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from drsyncer.objects import KubeObject
from drsyncer.sandbox import status as errors

if TYPE_CHECKING:
    from drsyncer.sandbox.cluster import FakeCluster

LOG_DIR = "container-logs"
TEXT_PLAIN = "text/plain"


def container_log_path(node_root: Path, *, namespace: str, workload: str, container: str) -> Path:
    """Where the stdout of ``container`` of ``workload``'s pod on the node with root ``node_root`` goes."""
    return node_root / LOG_DIR / namespace / workload / f"{container}.log"


def append_container_log(path: Path, line: str, *, now: datetime.datetime | None = None) -> None:
    """Append one stdout line in the CRI log format (``<time> stdout F <line>``)."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{stamp} stdout F {line}\n")


def _workload(pod: KubeObject) -> str:
    for reference in pod["metadata"].get("ownerReferences") or []:
        if reference.get("controller"):
            return str(reference["name"])
    return str(pod["metadata"]["name"])


def _container(pod: KubeObject, requested: str) -> str:
    name = pod["metadata"]["name"]
    containers = [str(c.get("name", "")) for c in (pod.get("spec") or {}).get("containers") or []]
    if not requested:
        if len(containers) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
            )
        return containers[0]
    if requested not in containers:
        raise errors.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def _number(query: dict[str, str], key: str, *, minimum: int, pod: str) -> int | None:
    if key not in query:
        return None
    raw = query[key]
    try:
        value = int(raw)
    except ValueError:
        raise errors.bad_request(f'invalid value "{raw}" for {key}') from None
    if value < minimum:
        why = "must be greater than 0" if minimum == 1 else "must be greater than or equal to 0"
        raise errors.invalid("PodLogOptions", "", pod, [errors.invalid_value(key, value, why)])
    return value


def _entries(path: Path) -> list[tuple[datetime.datetime, str]]:
    entries: list[tuple[datetime.datetime, str]] = []
    if not path.exists():
        return entries
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp, _, rest = raw.partition(" ")
        _stream, _, rest = rest.partition(" ")
        _tag, _, text = rest.partition(" ")
        when = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)
        entries.append((when, text))
    return entries


def pod_log(cluster: FakeCluster, namespace: str, name: str, query: dict[str, str]) -> bytes:
    """The body of ``GET .../namespaces/NAMESPACE/pods/NAME/log`` (raises ``ApiError`` as the server)."""
    since = _number(query, "sinceSeconds", minimum=1, pod=name)
    tail = _number(query, "tailLines", minimum=0, pod=name)
    limit = _number(query, "limitBytes", minimum=1, pod=name)
    pod = cluster.api.store.get(("", "pods"), namespace, name)
    if pod is None:
        raise errors.ApiError(404, "NotFound", f'pods "{name}" not found', details={"name": name})
    container = _container(pod, query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        return b""  # not scheduled yet: the API server has no kubelet to ask and answers an empty log
    node = next((n for n in cluster.nodes if n.name == node_name), None)
    if node is None or (pod.get("status") or {}).get("phase") != "Running":
        raise errors.bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
        )
    path = container_log_path(
        node.root_dir, namespace=namespace, workload=_workload(pod), container=container
    )
    entries = _entries(path)
    if since is not None:
        cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=since)
        entries = [(when, text) for when, text in entries if when >= cutoff]
    if tail is not None:
        entries = entries[-tail:] if tail else []
    stamps = query.get("timestamps") == "true"
    body = "".join(
        (f"{when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} " if stamps else "") + f"{text}\n"
        for when, text in entries
    ).encode()
    return body[:limit] if limit is not None else body
