"""Key rotation against real sshd: old and new control keys both work mid-rotation; retired keys are refused.

Each step "installs" the agents the way ``drsyncer agent install`` does for real: the agents are
restarted with authorized_keys and pull keys built from the key directory (``drsyncer.key_store``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from drsyncer.errors import DataAuthError
from drsyncer.key_store import (
    finish_rotation,
    host_key,
    load_key_set,
    stage_rotation,
    switch_rotation,
    write_key_set,
)
from drsyncer.keys import generate_mapping_keys
from drsyncer.sandbox.agents import AgentNode, AgentSet, SandboxMapping
from drsyncer.sandbox.mount_table import record_mount
from tasks.data.transfer import AgentClient, AgentEndpoint, ControlCredentials, TransferSpec, transfer_pvc

MAPPING = "prod-dr"


class Installed:
    """The agents of one source and one DR node, (re)started from the key directory."""

    def __init__(self, key_dir: Path, work: Path) -> None:
        self.key_dir = key_dir
        self.work = work
        self.agents: AgentSet | None = None
        self.nodes = [
            AgentNode("prod-1", "prod", work / "nodes" / "prod-1"),
            AgentNode("dr-1", "dr", work / "nodes" / "dr-1"),
        ]

    def install(self) -> AgentSet:
        if self.agents is not None:
            self.agents.stop()
        host_keys = {c: host_key(self.key_dir, c)[0] for c in ("prod", "dr")}
        mapping = SandboxMapping(load_key_set(self.key_dir, MAPPING), source_cluster="prod", dr_cluster="dr")
        shutil.rmtree(self.work / "agents", ignore_errors=True)
        self.agents = AgentSet.start(
            self.nodes, host_keys=host_keys, mappings=[mapping], work_dir=self.work / "agents"
        )
        return self.agents

    def stop(self) -> None:
        if self.agents is not None:
            self.agents.stop()


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Installed]:
    if shutil.which("rsync") is None or not Path("/usr/sbin/sshd").exists():
        pytest.skip("rsync and openssh-server are required for the data tier")
    key_dir = tmp_path / "keys"
    dr_host, _ = host_key(key_dir, "dr", create=True)
    host_key(key_dir, "prod", create=True)
    write_key_set(key_dir, generate_mapping_keys(MAPPING), dr_host_key=dr_host, dr_port=2222)
    state = Installed(key_dir, tmp_path / "work")
    try:
        yield state
    finally:
        state.stop()


def _probe_with(agents: AgentSet, key_file: Path) -> dict[str, object]:
    dr = agents["dr-1"]
    credentials = ControlCredentials(key_file, agents.known_hosts_file(MAPPING))
    with AgentClient(dr.host, dr.port, credentials, connect_timeout=5) as client:
        return client.probe()


def _pull(agents: AgentSet, key_file: Path, content: bytes) -> bytes:
    source, dr = agents["prod-1"], agents["dr-1"]
    relative = f"{uuid.uuid4()}/volumes/kubernetes.io~csi/pv/mount"
    for node in (source.node, dr.node):
        (node.pods_dir / relative).mkdir(parents=True)
        record_mount(node.root_dir, node.pods_dir / relative)
    (source.node.pods_dir / relative / "file").write_bytes(content)
    spec = TransferSpec(
        source=AgentEndpoint(source.host, source.port, relative),
        destination=AgentEndpoint(dr.host, dr.port, relative),
    )
    transfer_pvc(spec, ControlCredentials(key_file, agents.known_hosts_file(MAPPING)))
    return (dr.node.pods_dir / relative / "file").read_bytes()


def test_old_and_new_keys_work_during_rotation_and_the_old_are_refused_after_finish(
    installed: Installed, tmp_path: Path
) -> None:
    keys = installed.key_dir / MAPPING
    old_control = shutil.copy(keys / "control-key", tmp_path / "old-control-key")

    # Step 1: staged. Agents accept both; the controller and the DR agents still use the old keys.
    stage_rotation(installed.key_dir, MAPPING)
    new_control = Path(shutil.copy(keys / "control-key.next", tmp_path / "new-control-key"))
    agents = installed.install()
    assert _probe_with(agents, Path(old_control))["ok"] is True
    assert _probe_with(agents, new_control)["ok"] is True
    assert _pull(agents, keys / "control-key", b"step one") == b"step one"

    # Step 2: switched. The controller's control-key file is the new key; the DR agents pull with the
    # new pull key; the old control key is still accepted.
    switch_rotation(installed.key_dir, MAPPING)
    assert (keys / "control-key").read_text() == new_control.read_text()
    agents = installed.install()
    assert _probe_with(agents, new_control)["ok"] is True
    assert _probe_with(agents, Path(old_control))["ok"] is True
    assert _pull(agents, keys / "control-key", b"step two!") == b"step two!"

    # Step 3: finished. The old key is refused (an auth error, never retried); the new one works.
    finish_rotation(installed.key_dir, MAPPING)
    agents = installed.install()
    assert _probe_with(agents, new_control)["ok"] is True
    with pytest.raises(DataAuthError, match="refused the control key"):
        _probe_with(agents, Path(old_control))
    assert _pull(agents, keys / "control-key", b"step three!") == b"step three!"
