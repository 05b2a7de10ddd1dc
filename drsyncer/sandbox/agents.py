"""Sandbox node agents: one real ``sshd`` per sandbox node, on 127.0.0.1, running our ``agent/`` files.

Each :class:`LocalAgent` plays the DaemonSet pod of one node: ``/usr/sbin/sshd -D -e -f CONFIG`` with the
config rendered from ``agent/sshd_config.tmpl`` (``StrictModes yes``, as in the image), a host key of
the node's own (generated at start, as ``agent/entrypoint.sh`` does: no agent holds another node's private
host key), and an authorized_keys built by :mod:`drsyncer.keys` — pull keys forced to
``agent/source_gate.py --pods-dir <node root>/pods`` (then ``rrsync -ro`` on one volume), control keys
forced to ``agent/control.py --pods-dir <node root>/pods``. The node's root directory plays
``/var/lib/kubelet``; both forced commands read the node's mount table from ``<node root>/mountinfo``
(:mod:`drsyncer.sandbox.mount_table`), which the sandbox kubelet writes when it "mounts" a volume.
sshd's ``StrictModes`` wants the authorized_keys file in directories that are root-owned and not
group/world-writable up to ``/``, which pytest's temp dirs below ``/tmp`` are not, so authorized_keys
files live in a 0700 directory below ``/run``, removed by :meth:`AgentSet.stop`.
All agents share 127.0.0.1, so an agent's address is ``127.0.0.1:<its port>``; known_hosts files name each
port. :meth:`AgentSet.stop` ends every listener and its session children by PID (a killed listener
leaves its sessions running, so children are collected first). Used by tests and ``drsyncer demo`` only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import agent as agent_package
from drsyncer.keys import (
    ControlLimits,
    KeyPair,
    MappingKeys,
    authorized_keys,
    known_hosts_file,
    known_hosts_line,
    pull_key_file,
)
from drsyncer.sandbox.mount_table import mountinfo_path
from drsyncer.sandbox.pull_log import Pull, read_pulls, with_logged_rsync

SSHD = "/usr/sbin/sshd"
LOOPBACK = "127.0.0.1"
AGENT_DIR = Path(agent_package.__file__).resolve().parent
SSHD_TEMPLATE = AGENT_DIR / "sshd_config.tmpl"
CONTROL_PROGRAM = AGENT_DIR / "control.py"
SOURCE_GATE = AGENT_DIR / "source_gate.py"
SECURE_PARENT = Path("/run")
"""Where authorized_keys go: root-owned up to ``/``, not world-writable, so ``StrictModes yes`` holds."""
START_DEADLINE_SECONDS = 10.0
STOP_DEADLINE_SECONDS = 5.0


class AgentStartError(RuntimeError):
    """An sshd did not start listening before the deadline."""


def render_sshd_config(
    *,
    port: int,
    host_key: str,
    authorized_keys_file: str,
    pid_file: str,
    listen_address: str = LOOPBACK,
    strict_modes: bool = True,
) -> str:
    """``agent/sshd_config.tmpl`` with its placeholders filled."""
    return Template(SSHD_TEMPLATE.read_text()).substitute(
        port=port,
        listen_address=listen_address,
        host_key=host_key,
        pid_file=pid_file,
        authorized_keys=authorized_keys_file,
        strict_modes="yes" if strict_modes else "no",
    )


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free right now on ``host`` (sshd refuses port 0, so we pick one first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """PIDs of every live descendant of ``pid`` (children first, found by walking ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


def _signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass(frozen=True)
class SandboxMapping:
    """One ClusterMapping in the sandbox: its keys and which cluster is source and which is DR."""

    keys: MappingKeys
    source_cluster: str
    dr_cluster: str


@dataclass(frozen=True)
class AgentNode:
    """A sandbox node: its name, cluster, and root directory (plays ``/var/lib/kubelet``)."""

    name: str
    cluster: str
    root_dir: Path
    address: str = LOOPBACK
    """Where the node's agent listens: 127.0.0.1 (ports differ per node), or a loopback address of the
    node's own (e.g. its sandbox InternalIP 127.0.x.y) so every agent of a cluster shares one port, as
    on a real cluster (``pvcSync.ssh.port``)."""

    @property
    def pods_dir(self) -> Path:
        """``<root>/pods``: the only tree the agent serves or writes."""
        return self.root_dir / "pods"


@dataclass
class LocalAgent:
    """One running sshd for one sandbox node."""

    node: AgentNode
    port: int
    config_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """The address clients use."""
        return self.node.address

    @property
    def pid(self) -> int | None:
        """PID of the sshd listener (None when stopped)."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start ``sshd -D -e -f CONFIG`` and wait (with a deadline) until it accepts connections."""
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        log = (self.config_dir / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config_dir / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AgentStartError(
                    f"sshd for node {self.node.name} exited: "
                    f"{(self.config_dir / 'sshd.log').read_text()[-500:]}"
                )
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.02)
        self.stop()
        raise AgentStartError(f"sshd for node {self.node.name} did not listen on port {self.port}")

    def session_pids(self) -> list[int]:
        """PIDs of the listener's live session processes (sshd children, forced commands, rsync)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [pid for pid in descendants(self.process.pid) if _alive(pid)]

    def cut_sessions(self) -> list[int]:
        """Kill every open session (SIGKILL), leaving the listener up: a network cut, as seen by peers."""
        pids = self.session_pids()
        _signal_all(pids, signal.SIGKILL)
        return pids

    def stop(self) -> None:
        """Terminate the listener and all its session children, by PID, with a deadline."""
        if self.process is None:
            return
        children = descendants(self.process.pid)
        _signal_all(children, signal.SIGTERM)
        if self.process.poll() is None:
            self.process.terminate()
        deadline = time.monotonic() + STOP_DEADLINE_SECONDS
        while time.monotonic() < deadline and (
            self.process.poll() is None or any(_alive(pid) for pid in children)
        ):
            time.sleep(0.02)
        _signal_all([pid for pid in children if _alive(pid)], signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        self.process = None


def _assign_ports(nodes: Sequence[AgentNode]) -> dict[str, int]:
    """A port per node: shared by a cluster's nodes when each has an address of its own."""
    ports: dict[str, int] = {}
    by_cluster: dict[str, list[AgentNode]] = {}
    for node in nodes:
        by_cluster.setdefault(node.cluster, []).append(node)
    for members in by_cluster.values():
        addresses = {node.address for node in members}
        if len(addresses) == len(members) and LOOPBACK not in addresses:
            port = _port_free_on_all([node.address for node in members])
            ports.update(dict.fromkeys((node.name for node in members), port))
        else:
            ports.update({node.name: free_port(node.address) for node in members})
    return ports


def _port_free_on_all(addresses: Sequence[str]) -> int:
    for _ in range(50):
        port = free_port(addresses[0])
        if all(_is_free(address, port) for address in addresses[1:]):
            return port
    raise AgentStartError(f"no TCP port is free on all of {', '.join(addresses)}")


def _is_free(address: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def _host_key(host_keys: Mapping[str, KeyPair], node: AgentNode) -> KeyPair:
    """The node's own host key (a cluster-wide one only for callers that still pass one per cluster)."""
    return host_keys[node.name] if node.name in host_keys else host_keys[node.cluster]


def control_program_argv() -> list[str]:
    """How the sandbox runs ``agent/control.py`` (this interpreter, isolated mode)."""
    return [sys.executable, "-I", str(CONTROL_PROGRAM), "--rsync", "/usr/bin/rsync", "--ssh", "/usr/bin/ssh"]


def source_gate_argv() -> list[str]:
    """How the sandbox runs ``agent/source_gate.py``, the pull key's forced command (then ``rrsync -ro``)."""
    return [sys.executable, "-I", str(SOURCE_GATE), "--rrsync", "/usr/bin/rrsync"]


def _control_limits(
    source_cluster: str, nodes: Sequence[AgentNode], ports: Mapping[str, int]
) -> ControlLimits:
    """What a DR agent's ``pull`` may reach: the source nodes' addresses, and their port if they share one."""
    sources = [node for node in nodes if node.cluster == source_cluster]
    source_ports = {ports[node.name] for node in sources}
    return ControlLimits(
        source_port=source_ports.pop() if len(source_ports) == 1 else None,
        source_cidrs=tuple(sorted({f"{node.address}/32" for node in sources})),
    )


@dataclass
class AgentSet:
    """All sandbox agents of a test session or demo, plus the controller's key files."""

    agents: dict[str, LocalAgent]
    work_dir: Path
    mappings: dict[str, SandboxMapping]
    host_keys: dict[str, KeyPair] = field(default_factory=dict)
    """Each node's own host key, by node name (the agent pod prints the public half: ``agent_pods``)."""
    secure_dir: Path | None = None
    """A 0700 directory below ``/run`` with each agent's authorized_keys; removed by :meth:`stop`."""

    @classmethod
    def start(
        cls,
        nodes: Sequence[AgentNode],
        *,
        host_keys: Mapping[str, KeyPair] | None = None,
        mappings: Sequence[SandboxMapping],
        work_dir: Path,
    ) -> AgentSet:
        """Write every agent's files, start every sshd; stop the started ones if one fails.

        Every node gets a host key of its own (``host_keys[node name]`` when given, else a new one), as
        every real agent generates its own; entries under other names (a cluster's) are ignored.
        """
        from drsyncer.keys import generate_host_key

        ports = _assign_ports(nodes)
        given = host_keys or {}
        per_node = {node.name: given.get(node.name) or generate_host_key(node.name) for node in nodes}
        agent_set = cls(
            agents={},
            work_dir=work_dir,
            mappings={m.keys.cluster_mapping: m for m in mappings},
            host_keys=per_node,
        )
        try:
            for node in nodes:
                agent = LocalAgent(
                    node=node, port=ports[node.name], config_dir=work_dir / "agents" / node.name
                )
                agent_set._write_agent_files(agent, nodes, ports, per_node)
                agent_set.agents[node.name] = agent
                agent.start()
            for mapping in mappings:
                agent_set._write_controller_files(mapping, nodes, ports, per_node)
        except BaseException:
            agent_set.stop()
            raise
        return agent_set

    def _write_agent_files(
        self,
        agent: LocalAgent,
        nodes: Sequence[AgentNode],
        ports: Mapping[str, int],
        host_keys: Mapping[str, KeyPair],
    ) -> None:
        node = agent.node
        host_key = _host_key(host_keys, node)
        node.pods_dir.mkdir(parents=True, exist_ok=True)
        config = agent.config_dir
        config.mkdir(parents=True, exist_ok=True)
        as_source = [m for m in self.mappings.values() if m.source_cluster == node.cluster]
        as_dr = [m for m in self.mappings.values() if m.dr_cluster == node.cluster]
        _write_private(config / "ssh_host_ed25519_key", host_key.private_openssh)
        if self.secure_dir is None:
            self.secure_dir = Path(tempfile.mkdtemp(prefix="dr-syncer-agents-", dir=SECURE_PARENT))
        authorized = _write_private(
            self.secure_dir / node.name / "authorized_keys",
            authorized_keys(
                pull_keys=[m.keys.pull for m in as_source],
                control_keys={m.keys.cluster_mapping: m.keys.control for m in as_dr},
                pods_dir=str(node.pods_dir),
                source_gate=source_gate_argv(),
                control_program=with_logged_rsync(control_program_argv(), config),
                keys_dir=str(config),
                mountinfo=str(mountinfo_path(node.root_dir)),
                session_dir=str(self.secure_dir / node.name / "sessions"),
                control_limits={
                    m.keys.cluster_mapping: _control_limits(m.source_cluster, nodes, ports) for m in as_dr
                },
            ),
        )
        for mapping in as_dr:
            name = mapping.keys.cluster_mapping
            _write_private(config / pull_key_file(name), mapping.keys.pull.current.private_openssh)
            source_agents = [n for n in nodes if n.cluster == mapping.source_cluster]
            lines = [
                known_hosts_line(_host_key(host_keys, n).public_openssh, host=n.address, port=ports[n.name])
                for n in source_agents
            ]
            _write_private(config / known_hosts_file(name), "".join(f"{line}\n" for line in lines))
        _write_private(
            config / "sshd_config",
            render_sshd_config(
                port=agent.port,
                host_key=str(config / "ssh_host_ed25519_key"),
                authorized_keys_file=str(authorized),
                pid_file=str(config / "sshd.pid"),
                listen_address=node.address,
                strict_modes=True,
            ),
        )

    def _write_controller_files(
        self,
        mapping: SandboxMapping,
        nodes: Sequence[AgentNode],
        ports: Mapping[str, int],
        host_keys: Mapping[str, KeyPair],
    ) -> None:
        name = mapping.keys.cluster_mapping
        directory = self.work_dir / "controller" / name
        _write_private(directory / "control-key", mapping.keys.control.current.private_openssh)
        lines = [
            known_hosts_line(_host_key(host_keys, n).public_openssh, host=n.address, port=ports[n.name])
            for n in nodes
        ]
        _write_private(directory / "known_hosts", "".join(f"{line}\n" for line in lines))

    def control_key_file(self, cluster_mapping: str) -> Path:
        """The controller's private control key for a mapping."""
        return self.work_dir / "controller" / cluster_mapping / "control-key"

    def known_hosts_file(self, cluster_mapping: str) -> Path:
        """The controller's known_hosts (every sandbox agent's host key, by port)."""
        return self.work_dir / "controller" / cluster_mapping / "known_hosts"

    def __getitem__(self, node_name: str) -> LocalAgent:
        return self.agents[node_name]

    def pulls(self) -> list[Pull]:
        """Every rsync the agents ran, by start time (their pull logs, :mod:`drsyncer.sandbox.pull_log`)."""
        return read_pulls(self.work_dir / "agents")

    def stop(self) -> None:
        """Stop every agent (listener and sessions) by PID; remove the authorized_keys directory."""
        for agent in self.agents.values():
            agent.stop()
        if self.secure_dir is not None:
            shutil.rmtree(self.secure_dir, ignore_errors=True)


def start_cluster_agents(
    clusters: Sequence[tuple[str, Sequence[tuple[str, Path, str]]]],
    mappings: Sequence[tuple[str, str, str]],
    *,
    work_dir: Path,
) -> AgentSet:
    """Agents for sandbox clusters: one per node, on the node's own loopback address, one port per cluster.

    Args:
        clusters: ``(cluster name, [(node name, node root dir, node address), ...])`` per cluster.
        mappings: ``(cluster mapping name, source cluster, DR cluster)`` per key set.
        work_dir: where agent configs and the controller's key files go; the controller's keys for
            mapping M are ``work_dir/controller/M/{control-key,known_hosts}`` (use ``work_dir/controller``
            as ``DRSYNCER_KEY_DIR``).
    """
    from drsyncer.keys import generate_mapping_keys

    nodes = [
        AgentNode(node, cluster, root, address=address)
        for cluster, members in clusters
        for node, root, address in members
    ]
    key_sets = [
        SandboxMapping(generate_mapping_keys(name), source_cluster=source, dr_cluster=dr)
        for name, source, dr in mappings
    ]
    return AgentSet.start(nodes, mappings=key_sets, work_dir=work_dir)


def cluster_port(agent_set: AgentSet, cluster: str) -> int:
    """The one port every agent of ``cluster`` listens on."""
    ports = {agent.port for agent in agent_set.agents.values() if agent.node.cluster == cluster}
    if len(ports) != 1:
        raise AgentStartError(f"agents of cluster {cluster} do not share one port: {sorted(ports)}")
    return ports.pop()
