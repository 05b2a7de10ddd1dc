"""Two agents in two network namespaces joined by a veth pair; the link is cut mid-transfer (root only).

Layout (every address exists only inside namespaces this module creates; nothing leaves them)::

    netns drs-<id>-src                    netns drs-<id>-dr
    source agent sshd 10.213.N.1:2222 --veth-- 10.213.N.2   DR agent sshd 127.0.0.1:2222
                                                            controller (tests/netns/controller.py)

The sshd processes run inside the namespaces via ``ip netns exec`` (which execs, so the PIDs we hold are
sshd's own and are stopped by PID with their session children). The controller runs inside the DR
namespace and talks to the DR agent over that namespace's loopback, so cutting the veth link cuts only
the rsync stream between the agents — a real partition: no RST, packets just vanish. rsync's
``--timeout`` notices, the pull fails with a transient error, the mover retries, and once the link is up
again the retry completes and the trees are identical. Everything is torn down in ``finally``.

How a partition is noticed (measured here): **not** by rsync's ``--timeout`` on the pulling side — the
generator's keep-alive writes into ssh's pipe count as I/O, so rsync waits as long as ssh does — but by
ssh's ``ServerAliveInterval`` x ``ServerAliveCountMax`` (5 s x 3 in ``tasks/data/rsync_command.py``), after
which ssh exits 255 and rsync exits 12 (transient). To stay fast, the DR agent's control program gets an
``--ssh`` wrapper that puts ``ServerAliveInterval=1``, ``ServerAliveCountMax=2`` first on ssh's command
line (ssh takes the first value of an option); everything else is the product's own argv.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drsyncer.keys import generate_host_key, generate_mapping_keys
from drsyncer.sandbox import agents as sandbox_agents
from drsyncer.sandbox.agents import SSHD, AgentNode, AgentSet, AgentStartError, LocalAgent, SandboxMapping
from drsyncer.sandbox.mount_table import record_mount
from tests.data.trees import snapshot

MAPPING = "src-to-dr"
PORT = 2222
REPO = Path(__file__).resolve().parents[2]
CONTROLLER = Path(__file__).resolve().parent / "controller.py"
DEADLINE_SECONDS = 25.0


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


@dataclass
class NetnsAgent(LocalAgent):
    """A LocalAgent whose sshd runs inside a network namespace."""

    namespace: str = ""

    def start(self) -> None:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        log_path = self.config_dir / "sshd.log"
        log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.namespace,
                SSHD,
                "-D",
                "-e",
                "-f",
                str(self.config_dir / "sshd_config"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AgentStartError(f"sshd in {self.namespace} exited: {log_path.read_text()[-500:]}")
            if "Server listening on" in log_path.read_text(errors="replace"):
                return
            time.sleep(0.02)
        self.stop()
        raise AgentStartError(f"sshd in {self.namespace} did not start listening")


@dataclass
class Partition:
    """The two namespaces, the link between them and the running agents."""

    source_ns: str
    dr_ns: str
    source_link: str
    agents: AgentSet
    work: Path

    def link(self, state: str) -> None:
        _ip("-n", self.source_ns, "link", "set", self.source_link, state)

    def volume(self, node: str) -> tuple[Path, str]:
        relative = f"{uuid.uuid4()}/volumes/kubernetes.io~csi/pv-{uuid.uuid4().hex[:6]}/mount"
        path = self.agents[node].node.pods_dir / relative
        path.mkdir(parents=True)
        record_mount(self.agents[node].node.root_dir, path)  # agents serve and write mount points only
        return path, relative

    def pull(self, source: str, destination: str, **options: object) -> subprocess.Popen[str]:
        """Start the controller in the DR namespace; it prints rsync lines, then RESULT or ERROR."""
        request = {
            "source": {"host": self.agents["src-1"].host, "port": PORT, "path": source},
            "destination": {"host": "127.0.0.1", "port": PORT, "path": destination},
            "options": options,
            "key_file": str(self.agents.control_key_file(MAPPING)),
            "known_hosts_file": str(self.agents.known_hosts_file(MAPPING)),
        }
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.Popen(
            ["ip", "netns", "exec", self.dr_ns, sys.executable, str(CONTROLLER), json.dumps(request)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=REPO,
        )


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    if shutil.which("rsync") is None or not Path(SSHD).exists():
        return "rsync and openssh-server are required"
    probe = f"drs-probe-{os.getpid()}"
    created = _ip("netns", "add", probe, check=False)
    if created.returncode != 0:
        return f"`ip netns add` is not available here: {created.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


@pytest.fixture(scope="module")
def partition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Partition]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    tag = f"{os.getpid() % 10000}{random.randrange(100)}"
    subnet = f"10.213.{random.randrange(1, 254)}"
    source_ns, dr_ns = f"drs-{tag}-src", f"drs-{tag}-dr"
    source_link, dr_link = f"drs{tag}s", f"drs{tag}d"
    work = tmp_path_factory.mktemp("netns")
    agent_set: AgentSet | None = None
    try:
        for namespace in (source_ns, dr_ns):
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
        _ip(
            "link",
            "add",
            source_link,
            "netns",
            source_ns,
            "type",
            "veth",
            "peer",
            "name",
            dr_link,
            "netns",
            dr_ns,
        )
        _ip("-n", source_ns, "addr", "add", f"{subnet}.1/24", "dev", source_link)
        _ip("-n", dr_ns, "addr", "add", f"{subnet}.2/24", "dev", dr_link)
        _ip("-n", source_ns, "link", "set", source_link, "up")
        _ip("-n", dr_ns, "link", "set", dr_link, "up")

        nodes = [
            AgentNode("src-1", "src", work / "nodes" / "src-1", address=f"{subnet}.1"),
            AgentNode("dr-1", "dr", work / "nodes" / "dr-1", address="127.0.0.1"),
        ]
        namespaces = {"src-1": source_ns, "dr-1": dr_ns}
        host_keys = {"src": generate_host_key("src"), "dr": generate_host_key("dr")}
        mapping = SandboxMapping(generate_mapping_keys(MAPPING), source_cluster="src", dr_cluster="dr")
        ports = {node.name: PORT for node in nodes}
        agent_set = AgentSet(agents={}, work_dir=work / "agents", mappings={MAPPING: mapping})
        ssh = work / "ssh-fast-keepalive"
        ssh.write_text(
            '#!/bin/sh\nexec /usr/bin/ssh -o ServerAliveInterval=1 -o ServerAliveCountMax=2 "$@"\n'
        )
        ssh.chmod(0o755)
        control = [*sandbox_agents.control_program_argv()[:-1], str(ssh)]
        for node in nodes:
            agent = NetnsAgent(
                node=node, port=PORT, config_dir=work / "agents" / node.name, namespace=namespaces[node.name]
            )
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(sandbox_agents, "control_program_argv", lambda: control)
                agent_set._write_agent_files(agent, nodes, ports, host_keys)
            agent_set.agents[node.name] = agent
            agent.start()
        agent_set._write_controller_files(mapping, nodes, ports, host_keys)
        yield Partition(source_ns, dr_ns, source_link, agent_set, work)
    finally:
        if agent_set is not None:
            agent_set.stop()
        for namespace in (source_ns, dr_ns):
            _ip("netns", "del", namespace, check=False)


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The controller's output lines, read by a thread (``None`` at EOF)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue[str | None], deadline: float, seen: list[str]) -> str | None:
    try:
        return lines.get(timeout=max(deadline - time.monotonic(), 0.001))
    except queue.Empty as error:
        raise AssertionError(
            f"the controller did not finish before the deadline; last lines: {seen[-8:]}"
        ) from error


def _finish(process: subprocess.Popen[str], lines: queue.Queue[str | None], seen: list[str]) -> str:
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while (line := _next_line(lines, deadline, seen)) is not None:
            seen.append(line)
        process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    return seen[-1] if seen else ""


def test_a_pull_crosses_the_veth_link(partition: Partition) -> None:
    source, source_rel = partition.volume("src-1")
    destination, destination_rel = partition.volume("dr-1")
    (source / "a.txt").write_text("across namespaces\n")
    (source / "dir").mkdir()
    (source / "dir" / "b.bin").write_bytes(random.Random(1).randbytes(64 * 1024))

    process = partition.pull(source_rel, destination_rel)
    last = _finish(process, _lines(process), [])

    assert last.startswith("RESULT "), last
    assert json.loads(last.removeprefix("RESULT "))["attempts"] == 1
    assert snapshot(destination) == snapshot(source)


def test_link_cut_midway_times_out_is_retried_and_completes_identically_once_the_link_is_back(
    partition: Partition,
) -> None:
    source, source_rel = partition.volume("src-1")
    destination, destination_rel = partition.volume("dr-1")
    for index in range(3):
        (source / f"blob-{index}.bin").write_bytes(random.Random(index).randbytes(1024 * 1024))
    process = partition.pull(source_rel, destination_rel, bandwidth_limit_kbps=1024, io_timeout_seconds=2)
    lines = _lines(process)
    seen: list[str] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    cut = False
    try:
        # Mid-way: rsync reports more than 256 KiB done (of 3 MiB at 1 MiB/s).
        while not cut:
            line = _next_line(lines, deadline, seen)
            assert line is not None, f"the controller ended before the cut: {seen[-5:]}"
            seen.append(line)
            fields = line.split()
            done = fields[0].replace(",", "") if fields and "%" in line else ""
            if done.isdigit() and int(done) > 256 * 1024:
                partition.link("down")
                cut = True
        # The partition is noticed (rsync --timeout) and reported as a transient failure to retry.
        while True:
            line = _next_line(lines, deadline, seen)
            assert line is not None, f"the controller ended without retrying: {seen[-5:]}"
            seen.append(line)
            if line.startswith("attempt 1 failed"):
                break
    finally:
        partition.link("up")
    last = _finish(process, lines, seen)

    retry_line = next(line for line in seen if line.startswith("attempt 1 failed"))
    assert "exit code 30" in retry_line or "exit code 12" in retry_line or "exit code 255" in retry_line, (
        retry_line
    )
    assert last.startswith("RESULT "), seen[-10:]
    assert json.loads(last.removeprefix("RESULT "))["attempts"] >= 2
    assert snapshot(destination) == snapshot(source)


def test_skips_with_a_reason_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert _unavailable() == "network namespaces need root"
