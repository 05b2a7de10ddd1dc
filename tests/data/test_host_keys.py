"""Per-node host keys: every agent has its own, and the controller pins the one its pod printed.

Real sshd, rsync and control program (the session's sandbox agents), and a sandbox cluster whose agent
DaemonSet pods print their node's host key to their log (``drsyncer.sandbox.agent_pods``), read by the
controller through ``pods/log`` (``tasks.data.agent_host_keys``). The attacks: an agent on node B
answering at node A's address with its own key (refused by the control connection and by the pull's
hop to the source), garbage host keys in a pull request (refused, nothing written), an agent pod whose
log has no key line or a look-alike pod that is not the DaemonSet's (a clear error / ignored).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from drsyncer.errors import DataAuthError
from drsyncer.keys import authorized_keys, generate_host_key, generate_mapping_keys
from drsyncer.kube.client import KubeClient
from drsyncer.kube.connect import client_from_kubeconfig_file
from drsyncer.sandbox import FakeCluster, NodeSpec
from drsyncer.sandbox.agent_pods import agent_log_path, start_agents_with_pods
from drsyncer.sandbox.agents import AGENT_DIR, AgentSet, descendants, free_port
from drsyncer.sandbox.pod_logs import append_container_log, container_log_path
from tasks.data.agent_host_keys import AGENT_CONTAINER, agent_host_key, host_key_from_log, host_key_line
from tasks.data.host_key_lines import public_host_key
from tasks.data.transfer import AgentClient, AgentEndpoint, TransferSpec, transfer_pvc
from tests.data.agent_access import control
from tests.fixtures.agents import DataSandbox
from tests.sandbox.factories import eventually


def _key(sandbox: DataSandbox, node: str) -> str:
    return public_host_key(sandbox.host_keys[node].public_openssh)


def _presented_key(port: int, *, host: str = "127.0.0.1") -> str:
    """The host key the sshd on ``host:port`` presents (a bare key exchange, no authentication)."""
    transport = paramiko.Transport((host, port))
    try:
        transport.start_client(timeout=10)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    finally:
        transport.close()


def test_two_nodes_of_one_cluster_present_different_host_keys(data_sandbox: DataSandbox) -> None:
    prod_1 = _presented_key(data_sandbox.agents["prod-1"].port)
    prod_2 = _presented_key(data_sandbox.agents["prod-2"].port)

    assert prod_1 != prod_2
    assert prod_1 == _key(data_sandbox, "prod-1")
    assert prod_2 == _key(data_sandbox, "prod-2")


def test_control_connection_refuses_another_nodes_key_at_the_pinned_address(
    data_sandbox: DataSandbox,
) -> None:
    dr = data_sandbox.agents["dr-1"]
    # The controller pinned what dr-1's pod printed, but prod-1's agent answers at dr-1's address.
    with (
        AgentClient(
            dr.host, dr.port, data_sandbox.credentials, host_key=_key(data_sandbox, "prod-1"), node="dr-1"
        ) as client,
        pytest.raises(DataAuthError) as refused,
    ):
        client.probe()

    assert "not the one the agent pod on node dr-1 printed" in str(refused.value)
    with AgentClient(
        dr.host, dr.port, data_sandbox.credentials, host_key=_key(data_sandbox, "dr-1"), node="dr-1"
    ) as client:
        assert client.probe()["ok"]


def test_a_pull_refuses_another_source_node_answering_at_the_pinned_address(
    data_sandbox: DataSandbox,
) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "data.txt").write_text("from prod-1")
    destination = data_sandbox.volume("dr-1")
    dr_endpoint = AgentEndpoint(
        destination.endpoint.host,
        destination.endpoint.port,
        destination.endpoint.path,
        host_key=_key(data_sandbox, "dr-1"),
        node="dr-1",
    )
    # prod-2's agent (with its own key) answers where the controller resolved prod-1's agent.
    hijacked = AgentEndpoint(
        "127.0.0.1",
        data_sandbox.agents["prod-2"].port,
        source.endpoint.path,
        host_key=_key(data_sandbox, "prod-1"),
        node="prod-1",
    )

    with pytest.raises(DataAuthError) as refused:
        transfer_pvc(TransferSpec(source=hijacked, destination=dr_endpoint), data_sandbox.credentials)

    assert "Host key verification failed" in str(refused.value)
    assert list(destination.path.iterdir()) == []
    genuine = AgentEndpoint(
        source.endpoint.host,
        source.endpoint.port,
        source.endpoint.path,
        host_key=_key(data_sandbox, "prod-1"),
    )
    transfer_pvc(TransferSpec(source=genuine, destination=dr_endpoint), data_sandbox.credentials)
    assert (destination.path / "data.txt").read_text() == "from prod-1"


def _garbage_keys(sandbox: DataSandbox) -> dict[str, object]:
    good = _key(sandbox, "prod-1")
    rsa_blob = base64.b64encode(b"\x00\x00\x00\x07ssh-rsa" + b"\x00" * 16).decode()
    return {
        "not base64": "ssh-ed25519 not*base64!",
        "two lines": f"{good}\n{good}",
        "a CA marker": f"@cert-authority * {good}",
        "a DSA key": "ssh-dss " + good.split()[1],
        "a blob of another type": f"ssh-ed25519 {rsa_blob}",
        "too long": f"{good} {'x' * 4096}",
        "a number": 42,
        "empty": "",
    }


@pytest.mark.parametrize(
    "case",
    [
        "not base64",
        "two lines",
        "a CA marker",
        "a DSA key",
        "a blob of another type",
        "too long",
        "a number",
        "empty",
    ],
)
def test_a_pull_naming_a_garbage_host_key_is_refused(data_sandbox: DataSandbox, case: str) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "data.txt").write_text("x")
    destination = data_sandbox.volume("dr-1")
    request = {
        "source": {
            "host": "127.0.0.1",
            "port": data_sandbox.agents["prod-1"].port,
            "path": source.endpoint.path,
            "hostKey": _garbage_keys(data_sandbox)[case],
        },
        "destination": {"path": destination.endpoint.path},
    }

    result = control(data_sandbox, "pull " + json.dumps(request))

    assert result.returncode == 65, result.stderr
    assert "hostKey" in result.stderr
    assert list(destination.path.iterdir()) == []


# --- the key as the controller reads it: agent pods and their logs through the cluster API ------------


@dataclass
class KeyCluster:
    """One sandbox cluster with an agent per node, their DaemonSet pods, and a client."""

    cluster: FakeCluster
    agents: AgentSet
    client: KubeClient


@pytest.fixture(scope="module")
def key_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyCluster]:
    """Started once for the module; agents stopped by PID, the cluster closed, at the end."""
    if shutil.which("rsync") is None or not Path("/usr/sbin/sshd").exists():
        pytest.skip("rsync and openssh-server are required for the data tier")
    work = tmp_path_factory.mktemp("host-keys")
    nodes = [NodeSpec(f"hk-node-{n}", work / f"node-{n}", internal_ip=f"127.0.141.{10 + n}") for n in (1, 2)]
    cluster = FakeCluster("hk", nodes=nodes, background=True).start()
    try:
        agents = start_agents_with_pods((cluster,), [("hk-self", "hk", "hk")], work_dir=work / "agents")
    except BaseException:
        cluster.close()
        raise
    kubeconfig = cluster.write_kubeconfig(work / "kubeconfig", "hk")
    client = client_from_kubeconfig_file("hk", kubeconfig, "hk")
    yield KeyCluster(cluster=cluster, agents=agents, client=client)
    client.close()
    agents.stop()
    cluster.close()


def test_the_controller_reads_each_agents_own_key_from_its_pod_log(key_cluster: KeyCluster) -> None:
    keys = {node: agent_host_key(key_cluster.client, node) for node in ("hk-node-1", "hk-node-2")}

    assert keys["hk-node-1"] != keys["hk-node-2"]
    for node, key in keys.items():
        agent = key_cluster.agents[node]
        assert key == public_host_key(key_cluster.agents.host_keys[node].public_openssh)
        assert _presented_key(agent.port, host=agent.host) == key


def test_a_node_whose_agent_log_has_no_key_line_fails_clearly(key_cluster: KeyCluster) -> None:
    log = agent_log_path(key_cluster.agents["hk-node-2"])
    kept = log.read_text()
    try:
        log.write_text("")
        append_container_log(log, "dr-syncer-agent: node hk-node-2, sshd on port 2222")
        with pytest.raises(DataAuthError) as missing:
            agent_host_key(key_cluster.client, "hk-node-2")
    finally:
        log.write_text(kept)

    message = str(missing.value)
    assert "'hk-node-2'" in message
    assert "printed no host key" in message
    assert "kubectl -n dr-syncer delete pod" in message


def test_a_log_with_two_different_keys_for_the_node_is_refused(key_cluster: KeyCluster) -> None:
    log = agent_log_path(key_cluster.agents["hk-node-2"])
    kept = log.read_text()
    forged = public_host_key(generate_host_key("forger").public_openssh)
    try:
        append_container_log(log, host_key_line("hk-node-2", forged))
        with pytest.raises(DataAuthError) as refused:
            agent_host_key(key_cluster.client, "hk-node-2")
    finally:
        log.write_text(kept)

    assert "logged 2 different host keys" in str(refused.value)


def test_a_node_without_an_agent_pod_fails_clearly(key_cluster: KeyCluster) -> None:
    with pytest.raises(DataAuthError) as missing:
        agent_host_key(key_cluster.client, "hk-node-9")

    assert "no Running dr-syncer-agent pod on the node" in str(missing.value)


def test_a_look_alike_pod_that_is_not_the_daemonsets_is_ignored(key_cluster: KeyCluster) -> None:
    genuine = agent_host_key(key_cluster.client, "hk-node-1")
    impostor_key = public_host_key(key_cluster.agents.host_keys["hk-node-2"].public_openssh)
    key_cluster.cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "dr-syncer-agent-impostor",
                "namespace": "dr-syncer",
                "labels": {"app.kubernetes.io/name": "dr-syncer-agent", "dr-syncer.io/remote-cluster": "hk"},
            },
            "spec": {"nodeName": "hk-node-1", "containers": [{"name": AGENT_CONTAINER, "image": "x"}]},
        }
    )
    eventually(
        lambda: (
            (key_cluster.cluster.get("v1", "Pod", "dr-syncer-agent-impostor", "dr-syncer") or {})
            .get("status", {})
            .get("phase")
            == "Running"
        )
    )
    root = key_cluster.cluster.nodes[0].root_dir
    append_container_log(
        container_log_path(
            root, namespace="dr-syncer", workload="dr-syncer-agent-impostor", container=AGENT_CONTAINER
        ),
        host_key_line("hk-node-1", impostor_key),
    )

    assert agent_host_key(key_cluster.client, "hk-node-1") == genuine


# --- the agent image's entrypoint: its log is where the key is read, so nobody else may write a key line


@pytest.fixture
def entrypoint_agent(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    """``agent/entrypoint.sh`` run for real (sshd on loopback, StrictModes yes), its stdout in a file.

    Yields the port, the stdout file and the run dir; stops sshd and every child (sed, the re-print loop)
    by PID at the end.
    """
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "authorized_keys").write_text(authorized_keys(pull_keys=[generate_mapping_keys("m").pull]))
    run_dir = Path(tempfile.mkdtemp(prefix="dr-syncer-entrypoint-", dir="/run"))
    port = free_port()
    out = tmp_path / "stdout"
    env = {"PATH": os.environ["PATH"], "KEYS_DIR": str(keys), "RUN_DIR": str(run_dir / "agent"),
           "SSHD_TEMPLATE": str(AGENT_DIR / "sshd_config.tmpl"), "SSH_PORT": str(port),
           "LISTEN_ADDRESS": "127.0.0.1", "NODE_NAME": "node-a", "HOST_KEY_PRINT_SECONDS": "1"}  # fmt: skip
    with out.open("wb") as sink:
        process = subprocess.Popen(
            ["/bin/sh", str(AGENT_DIR / "entrypoint.sh")], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        eventually(lambda: _listening(port), timeout=10)
        yield port, out, run_dir / "agent"
    finally:
        children = descendants(process.pid)
        process.terminate()
        process.wait(timeout=10)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(run_dir, ignore_errors=True)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def test_no_client_can_write_a_host_key_line_into_the_agent_log(
    entrypoint_agent: tuple[int, Path, Path],
) -> None:
    port, out, run_dir = entrypoint_agent
    genuine = " ".join((run_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2])
    forged = public_host_key(generate_host_key("attacker").public_openssh)
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.start_client(timeout=10)
        with contextlib.suppress(paramiko.SSHException):  # a user name with a newline, unauthenticated
            transport.auth_none(f"x\ndr-syncer-agent host-key node-a {forged}\n")
    finally:
        transport.close()

    log = eventually(lambda: (text := out.read_text()).count(genuine) >= 2 and "[preauth]" in text and text)
    # sshd logs the user name with its newline ("Connection closed by invalid user ..."): the forged
    # line is there, but only behind the "sshd: " prefix.
    assert "\nsshd: dr-syncer-agent host-key node-a ssh-ed25519 AAAA" in log, log
    key_lines = [line for line in log.splitlines() if line.startswith("dr-syncer-agent host-key ")]
    assert len(key_lines) >= 2  # printed at start and again (HOST_KEY_PRINT_SECONDS=1)
    assert set(key_lines) == {f"dr-syncer-agent host-key node-a {genuine}"}
    assert host_key_from_log(log, "node-a") == genuine
    assert _presented_key(port) == genuine
