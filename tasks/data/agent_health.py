"""Are the DR agents up? One control-key ``probe`` per node of each DR cluster (``drsyncer_agent_up``).

The control key is the only key dr-syncer holds for agents, and only DR agents accept it (source agents
take the DR agents' read-only pull key), so this probes the DR side: for every destination cluster of a
mapping that syncs PVC data, each node that the agent DaemonSet's ``pvcSync.deployment.nodeSelector``
selects is reached at the address and port a pull would use, its host key pinned to the one that node's
agent pod printed (:mod:`tasks.data.agent_host_keys`), and asked ``probe`` (read-only: the agent reports
its version). A node whose agent refuses, times out, has no address or printed no host key counts as
down. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from drsyncer.config.effective import EffectiveMapping
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.kube.connect import connect_cluster
from drsyncer.objects import KubeObject
from tasks.data.agent_host_keys import agent_host_key
from tasks.data.endpoints import node_address
from tasks.data.transfer import AgentClient, ControlCredentials
from tasks.pvc_data import DEFAULT_SSH_PORT, key_set_name

PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AgentHealth:
    """One agent's probe result."""

    cluster: str
    node: str
    up: bool


@dataclass(frozen=True)
class ProbeTarget:
    """A DR cluster to probe, and the key set (one mapping's) that opens its agents."""

    mapping: EffectiveMapping
    credentials: ControlCredentials


def probe_targets(mappings: Iterable[EffectiveMapping], key_dir: Path) -> list[ProbeTarget]:
    """One target per DR cluster of the mappings that sync PVC data (the first mapping's key set)."""
    targets: dict[str, ProbeTarget] = {}
    for mapping in mappings:
        if not mapping.data_sync or mapping.destination.name in targets:
            continue
        directory = key_dir / key_set_name(mapping)
        credentials = ControlCredentials(
            key_file=directory / "control-key", known_hosts_file=directory / "known_hosts"
        )
        targets[mapping.destination.name] = ProbeTarget(mapping=mapping, credentials=credentials)
    return list(targets.values())


def probe_cluster(
    target: ProbeTarget, *, connect: Callable[[EffectiveMapping], KubeClient] | None = None
) -> list[AgentHealth]:
    """Probe every agent node of ``target``'s DR cluster (its nodes are listed with the cluster's client)."""
    mapping = target.mapping
    cluster = mapping.destination
    pvc_sync = cluster.spec.pvc_sync
    port = int(pvc_sync.ssh.port) if pvc_sync and pvc_sync.ssh and pvc_sync.ssh.port else DEFAULT_SSH_PORT
    address_type = str(pvc_sync.address_type.value) if pvc_sync and pvc_sync.address_type else None
    selector = ",".join(
        f"{k}={v}" for k, v in sorted((pvc_sync.deployment.node_selector if pvc_sync else {}).items())
    )
    client = connect(mapping) if connect is not None else connect_cluster(cluster)
    try:
        nodes, _ = client.list(
            object_path(group="", version="v1", plural="nodes", namespace=None), label_selector=selector
        )
        return [
            AgentHealth(
                cluster=cluster.name,
                node=_name(node),
                up=_probe(node, address_type, port, target, client=client),
            )
            for node in nodes
        ]
    finally:
        client.close()


def _probe(
    node: KubeObject, address_type: str | None, port: int, target: ProbeTarget, *, client: KubeClient
) -> bool:
    try:
        host = node_address(node, address_type)
        host_key = agent_host_key(client, _name(node))  # the key this node's agent pod printed
        with AgentClient(
            host,
            port,
            target.credentials,
            connect_timeout=PROBE_TIMEOUT_SECONDS,
            host_key=host_key,
            node=_name(node),
        ) as agent:
            return bool(agent.probe().get("ok"))
    except Exception:  # any failure to reach or use the agent means it is not up
        return False


def _name(node: KubeObject) -> str:
    return str((node.get("metadata") or {}).get("name", ""))
