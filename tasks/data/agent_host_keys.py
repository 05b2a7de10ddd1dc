"""Which host key the agent on node N presents: read from that agent pod's log, through the API.

Every agent generates its own ed25519 host key when its container starts (``agent/entrypoint.sh``), keeps
the private half in its pod's memory-backed ``/run``, and prints the public half to stdout, as clouds
print an instance's host key fingerprints to its console::

    dr-syncer-agent host-key <node name> ssh-ed25519 AAAA...

(again every few minutes, so the kubelet's log rotation never loses it). Before the controller talks to
the agent of node N, it finds that agent's pod through the cluster API, which it already trusts: in the
agent namespace, with the agent's labels, ``spec.nodeName`` N, ``Running``, not terminating, and
controlled by the agent DaemonSet; reads the pod's log (``pods/log``, bounded by ``tailLines`` and
``limitBytes``); and pins the newest host-key line that names N (:func:`host_key_from_log`, pure). That
key is then the only one accepted: by paramiko on the control connection to a DR agent, and, passed in
the pull request, by the DR agent's ssh to the source agent (``agent/control.py`` writes it into a
per-request known_hosts). So no agent holds another node's private host key, and an agent that answers
at another node's address with its own key is refused.

A missing agent pod, a log without a host-key line, or a malformed key is one
:class:`~drsyncer.errors.DataAuthError` for that PVC, naming the cluster, the node and the fix.
The controller's RBAC needs ``list`` on pods and ``get`` on ``pods/log`` in the agent namespace only.
"""

from __future__ import annotations

import re
from typing import Any

import urllib3

from agent.manifests import NAME as DAEMONSET_NAME
from drsyncer.errors import DataAuthError, TransientDataError
from drsyncer.keys import AGENT_NAMESPACE
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.objects import KubeObject
from tasks.data.host_key_lines import HostKeyError, public_host_key

AGENT_DAEMONSET = DAEMONSET_NAME
AGENT_CONTAINER = "agent"
"""The agent DaemonSet's container (``agent/manifests.py``)."""
AGENT_SELECTOR = f"app.kubernetes.io/name={AGENT_DAEMONSET}"
LINE_PREFIX = "dr-syncer-agent host-key "
TAIL_LINES = 2000
LIMIT_BYTES = 1 << 20
_NODE = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def host_key_line(node: str, public_key: str) -> str:
    """The line an agent prints: ``dr-syncer-agent host-key <node> <type> <base64>``."""
    return f"{LINE_PREFIX}{node} {public_host_key(public_key)}"


def host_keys_in_log(log: str, node: str) -> list[str]:
    """Every well-formed host key printed for ``node`` in an agent's log, newest first, without repeats."""
    found: list[str] = []
    for line in reversed(log.splitlines()):
        if not line.startswith(LINE_PREFIX):
            continue
        named, _, key = line[len(LINE_PREFIX) :].partition(" ")
        if named != node:
            continue
        try:
            checked = public_host_key(key)
        except HostKeyError:
            continue
        if checked not in found:
            found.append(checked)
    return found


def host_key_from_log(log: str, node: str) -> str | None:
    """The newest well-formed host-key line for ``node`` in an agent's log, as ``<type> <base64>``."""
    keys = host_keys_in_log(log, node)
    return keys[0] if keys else None


def _controlled_by_daemonset(pod: KubeObject) -> bool:
    return any(
        reference.get("controller")
        and reference.get("kind") == "DaemonSet"
        and reference.get("name") == AGENT_DAEMONSET
        for reference in (pod.get("metadata") or {}).get("ownerReferences") or []
    )


def agent_pod(client: KubeClient, node: str) -> KubeObject | None:
    """The Running agent pod on ``node`` (the agent DaemonSet's, not terminating), or None."""
    pods, _ = client.list(
        object_path(group="", version="v1", plural="pods", namespace=AGENT_NAMESPACE),
        label_selector=AGENT_SELECTOR,
        field_selector=f"spec.nodeName={node}",
    )
    running = [
        pod
        for pod in pods
        if (pod.get("spec") or {}).get("nodeName") == node
        and (pod.get("status") or {}).get("phase") == "Running"
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
        and _controlled_by_daemonset(pod)
    ]
    running.sort(key=lambda pod: str((pod.get("metadata") or {}).get("creationTimestamp", "")))
    return running[-1] if running else None


def agent_host_key(client: KubeClient, node: str) -> str:
    """The public host key (``<type> <base64>``) the agent on ``node`` printed; DataAuthError otherwise."""
    where = f"cluster {client.cluster!r}, node {node!r}"
    if not _NODE.fullmatch(node):
        raise DataAuthError(f"{where}: not a node name", fix="check the volume's pod (spec.nodeName)")
    pod = agent_pod(client, node)
    if pod is None:
        raise DataAuthError(
            f"{where}: no Running {AGENT_DAEMONSET} pod on the node, so its host key is unknown",
            fix="install the agents (`drsyncer agent install`) and check the "
            f"{AGENT_DAEMONSET} DaemonSet's pod on that node (nodeSelector, tolerations, image)",
        )
    name = str(pod["metadata"]["name"])
    path = object_path(
        group="", version="v1", plural="pods", namespace=AGENT_NAMESPACE, name=name, subresource="log"
    )
    query: list[tuple[str, Any]] = [
        ("container", AGENT_CONTAINER),
        ("tailLines", TAIL_LINES),
        ("limitBytes", LIMIT_BYTES),
    ]
    try:
        log = "\n".join(
            line.decode("utf-8", errors="replace")
            for line in client.stream_lines(path, query=query, timeout=30)
        )
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise TransientDataError(
            f"{where}: cannot read the log of agent pod {AGENT_NAMESPACE}/{name}: {error}",
            fix="check the API server; the next sync tries again",
        ) from error
    keys = host_keys_in_log(log, node)
    if len(keys) > 1:  # one container prints one key; sshd's own lines are prefixed (entrypoint.sh)
        raise DataAuthError(
            f"{where}: agent pod {AGENT_NAMESPACE}/{name} logged {len(keys)} different host keys for this "
            "node; refusing to guess which is the agent's",
            fix="find what else writes to that pod's log (an outdated agent image logs sshd's client "
            "text unprefixed), update the image and restart the pod: "
            f"kubectl -n {AGENT_NAMESPACE} delete pod {name}",
        )
    key = keys[0] if keys else None
    if key is None:
        raise DataAuthError(
            f"{where}: agent pod {AGENT_NAMESPACE}/{name} has printed no host key for this node "
            f"(no '{LINE_PREFIX}{node} ...' line in its log)",
            fix="update the agent image (agents print their host key at start and every 5 minutes) "
            f"or restart the pod: kubectl -n {AGENT_NAMESPACE} delete pod {name}",
        )
    return key
