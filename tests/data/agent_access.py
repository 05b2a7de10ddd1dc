"""What a holder of an agent key can run: ssh and rsync argv with the pull key or the control key.

Shared by the data-tier tests that play an attacker holding one of the keys (a stolen pull key from a
DR agent, the controller's control key) against the real sandbox sshd, rrsync and control program.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from drsyncer.keys import known_hosts_file, pull_key_file
from drsyncer.sandbox.mount_table import record_mount
from tasks.data.rsync_command import SshTransport, ssh_argv
from tests.fixtures.agents import MAPPING, DataSandbox

SECRET = b"s3cret-password\n"
TOKEN = b"eyJhbGciOiJSUzI1NiJ9.service-account-token\n"


def pull_key_ssh(sandbox: DataSandbox, node: str) -> list[str]:
    """ssh with the pull key (as a DR agent holds it) to ``node``'s agent."""
    dr_config = sandbox.agents["dr-1"].config_dir
    return ssh_argv(
        SshTransport(
            port=sandbox.agents[node].port,
            identity_file=str(dr_config / pull_key_file(MAPPING)),
            known_hosts_file=str(dr_config / known_hosts_file(MAPPING)),
        )
    )


def control_ssh(sandbox: DataSandbox, node: str = "dr-1") -> list[str]:
    """ssh with the controller's control key to ``node``'s agent (the controller's known_hosts)."""
    return ssh_argv(
        SshTransport(
            port=sandbox.agents[node].port,
            identity_file=str(sandbox.credentials.key_file),
            known_hosts_file=str(sandbox.credentials.known_hosts_file),
        )
    )


def run(argv: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``argv``, capture text output, never raise on a non-zero exit."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def control(sandbox: DataSandbox, command: str) -> subprocess.CompletedProcess[str]:
    """Run one control-program command on the DR agent with the control key."""
    return run([*control_ssh(sandbox), "root@127.0.0.1", command])


def pull_request(sandbox: DataSandbox, source_path: str, destination_path: str, **fields: object) -> str:
    """``pull <json>`` from prod-1's ``source_path`` into dr-1's ``destination_path``."""
    request: dict[str, object] = {
        "source": {"host": "127.0.0.1", "port": sandbox.agents["prod-1"].port, "path": source_path},
        "destination": {"path": destination_path},
        **fields,
    }
    return "pull " + json.dumps(request)


def rsync_with_pull_key(
    sandbox: DataSandbox, remote_path: str, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``rsync -a [extra] root@prod-1:<remote_path> out/`` with the pull key: what a thief of it can try."""
    return run(
        ["rsync", "-a", *extra, "-e", " ".join(pull_key_ssh(sandbox, "prod-1")),
         f"root@127.0.0.1:{remote_path}", f"{out}/"]
    )  # fmt: skip


def copied_bytes(directory: Path) -> list[bytes]:
    """The contents of every regular file (not symlink) below ``directory``."""
    if not directory.exists():
        return []
    return [p.read_bytes() for p in directory.rglob("*") if p.is_file() and not p.is_symlink()]


@dataclass
class PodOnNode:
    """A pod's directory on a sandbox node as the kubelet lays it out: a mounted PV next to its secrets."""

    node_root: Path
    uid: str
    volume: str
    """``<uid>/volumes/kubernetes.io~csi/<pv>/mount`` (a recorded mount), relative to the pods dir."""

    @property
    def pods_dir(self) -> Path:
        """The node's kubelet pods dir."""
        return self.node_root / "pods"

    @property
    def volume_dir(self) -> Path:
        """The PV's mount directory."""
        return self.pods_dir / self.volume

    @property
    def secret_dir(self) -> str:
        """The pod's Secret volume, relative to the pods dir."""
        return f"{self.uid}/volumes/kubernetes.io~secret/db-credentials"

    @property
    def token_dir(self) -> str:
        """The pod's projected service-account token volume, relative to the pods dir."""
        return f"{self.uid}/volumes/kubernetes.io~projected/kube-api-access-x7k2p"

    @property
    def empty_dir(self) -> str:
        """The pod's emptyDir volume, relative to the pods dir."""
        return f"{self.uid}/volumes/kubernetes.io~empty-dir/scratch"


def pod_on_node(sandbox: DataSandbox, node: str) -> PodOnNode:
    """A pod on ``node`` with a mounted PV (one file), a Secret, a projected token and an emptyDir script."""
    root = sandbox.agents[node].node.root_dir
    pod = PodOnNode(root, str(uuid.uuid4()), "")
    pod.volume = f"{pod.uid}/volumes/kubernetes.io~csi/pvc-{uuid.uuid4().hex[:8]}/mount"
    pod.volume_dir.mkdir(parents=True)
    record_mount(root, pod.volume_dir)
    (pod.volume_dir / "data.txt").write_text("volume data")
    for relative, name, content in (
        (pod.secret_dir, "password", SECRET),
        (pod.token_dir, "token", TOKEN),
        (pod.empty_dir, "entrypoint.sh", b"#!/bin/sh\necho original\n"),
    ):
        (pod.pods_dir / relative).mkdir(parents=True)
        (pod.pods_dir / relative / name).write_bytes(content)
    return pod
