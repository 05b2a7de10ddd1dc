"""The sandbox agents as the cluster API shows them: the agent DaemonSet's pods, and their logs.

On a real cluster each node's agent is a pod of DaemonSet ``dr-syncer/dr-syncer-agent`` that prints its
own host key to stdout (``agent/entrypoint.sh``), and the controller reads it through ``pods/log``
(:mod:`tasks.data.agent_host_keys`). In the sandbox the agents are local sshd processes
(:mod:`drsyncer.sandbox.agents`), so :func:`publish_agent_pods` makes the API side match: it creates the
agent's Namespace, ServiceAccount and DaemonSet as ``agent/manifests.py`` renders them (the sandbox
kubelet then runs one pod per node, Running, owned by the DaemonSet), waits for a pod on every agent node
of the cluster, and writes each agent's host-key line to its pod's container log
(:mod:`drsyncer.sandbox.pod_logs`), as the agent container would. Used by tests and the demo only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.manifests import NAME, NAMESPACE, AgentSettings, render_agent_manifests
from drsyncer.objects import KubeObject
from drsyncer.sandbox.agents import AgentSet, LocalAgent, cluster_port, start_cluster_agents
from drsyncer.sandbox.pod_logs import append_container_log, container_log_path
from tasks.data.agent_host_keys import AGENT_CONTAINER, host_key_line

if TYPE_CHECKING:
    from drsyncer.sandbox.cluster import FakeCluster

PODS_DEADLINE_SECONDS = 15.0


def agent_log_path(agent: LocalAgent) -> Path:
    """Where the agent pod on ``agent``'s node keeps its container log."""
    return container_log_path(
        agent.node.root_dir, namespace=NAMESPACE, workload=NAME, container=AGENT_CONTAINER
    )


def print_host_key(agent: LocalAgent, public_key: str) -> None:
    """What the agent container prints at start (and every few minutes): its node and public host key."""
    append_container_log(agent_log_path(agent), host_key_line(agent.node.name, public_key))


def _agent_pods(cluster: FakeCluster) -> dict[str, KubeObject]:
    pods = cluster.api.store.list(("", "pods"), NAMESPACE)
    return {
        str(pod["spec"].get("nodeName")): pod
        for pod in pods
        if (pod.get("status") or {}).get("phase") == "Running"
        and any(r.get("name") == NAME for r in pod["metadata"].get("ownerReferences") or [])
    }


def publish_agent_pods(
    cluster: FakeCluster, agents: AgentSet, *, deadline_seconds: float = PODS_DEADLINE_SECONDS
) -> dict[str, KubeObject]:
    """Create the agent DaemonSet in ``cluster``, wait for its pods, log each agent's host key.

    Returns the agent pod of each of the cluster's agent nodes, by node name. Raises ``TimeoutError``
    when a node has no Running agent pod before the deadline.
    """
    members = [agent for agent in agents.agents.values() if agent.node.cluster == cluster.name]
    settings = AgentSettings(cluster=cluster.name, ssh_port=cluster_port(agents, cluster.name))
    for obj in render_agent_manifests(settings):
        namespace = obj["metadata"].get("namespace", "")
        if cluster.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], namespace) is None:
            cluster.create(obj, manager="dr-syncer")
    wanted = {agent.node.name for agent in members}
    give_up = time.monotonic() + deadline_seconds
    while True:
        if not cluster._background:  # a foreground cluster runs its controllers on demand
            cluster.settle()
        pods = _agent_pods(cluster)
        if wanted <= set(pods):
            break
        if time.monotonic() > give_up:
            raise TimeoutError(
                f"agent pods of cluster {cluster.name} not Running on {sorted(wanted - set(pods))}"
            )
        time.sleep(0.05)
    for agent in members:
        print_host_key(agent, agents.host_keys[agent.node.name].public_openssh)
    return {name: pods[name] for name in wanted}


def start_agents_with_pods(
    clusters: Sequence[FakeCluster], mappings: Sequence[tuple[str, str, str]], *, work_dir: Path
) -> AgentSet:
    """:func:`~drsyncer.sandbox.agents.start_cluster_agents` for ``clusters``' nodes, then their agent pods.

    Args:
        clusters: the sandbox clusters; one agent per node, on the node's InternalIP.
        mappings: ``(cluster mapping name, source cluster, DR cluster)`` per key set.
        work_dir: where agent configs and the controller's key files go.
    """
    agents = start_cluster_agents(
        [(c.name, [(n.name, n.root_dir, n.internal_ip) for n in c.nodes]) for c in clusters],
        mappings,
        work_dir=work_dir,
    )
    try:
        for cluster in clusters:
            publish_agent_pods(cluster, agents)
    except BaseException:
        agents.stop()
        raise
    return agents
