"""How the mover classifies failures (retried or not) and matches known_hosts patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from drsyncer.errors import DataAuthError, DataSafetyError, DataSyncError, TransientDataError
from tasks.data.transfer import AgentEndpoint, RemoteRun, TransferSpec, classify_exit, host_keys_for


@pytest.mark.parametrize(
    ("code", "stderr", "expected"),
    [
        (10, "rsync error: error in socket IO (code 10)", TransientDataError),
        (12, "rsync error: error in rsync protocol data stream (code 12)", TransientDataError),
        (30, "timeout in data send/receive (code 30)", TransientDataError),
        (255, "ssh: connect to host 10.0.0.5 port 2222: Connection refused", TransientDataError),
        (255, "Host key verification failed.", DataAuthError),
        (255, "root@10.0.0.5: Permission denied (publickey).", DataAuthError),
        (75, "another pull into this destination is running", TransientDataError),
        (-1, "", TransientDataError),
        (77, "the source volume is empty", DataSafetyError),
        (65, "path resolves outside the pods directory", DataSyncError),
        (23, "some files could not be transferred (code 23)", DataSyncError),
        (255, "dr-syncer-control: cannot connect to the source agent at 10.0.0.5:2222 (refused, ...)",
         TransientDataError),
        (12, "dr-syncer-source-gate: volume path 'u/volumes/kubernetes.io~csi/p/mount' does not exist",
         DataSyncError),
        (12, "dr-syncer-source-gate: volume path 'x' is not a mount point; the volume is not mounted",
         DataSyncError),
    ],
)  # fmt: skip
def test_exit_codes_are_classified(code: int, stderr: str, expected: type[DataSyncError]) -> None:
    error = classify_exit(RemoteRun(exit_code=code, stdout=[], stderr=[stderr]), what="pull")

    assert type(error) is expected


def test_known_hosts_patterns_match_like_openssh(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        "[*]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n"
        "[10.0.0.*]:2300 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB==\n"
        "# a comment\n"
    )

    assert len(host_keys_for(known_hosts, "192.168.1.4", 2222)) == 1
    assert len(host_keys_for(known_hosts, "10.0.0.9", 2300)) == 1
    assert host_keys_for(known_hosts, "10.0.1.9", 2300) == []
    assert host_keys_for(known_hosts, "10.0.0.9", 22) == []


def test_pull_request_carries_no_key_material() -> None:
    spec = TransferSpec(AgentEndpoint("10.0.0.5", 2222, "a/b"), AgentEndpoint("10.0.0.6", 2222, "c/d"))

    request = spec.request_json()

    assert '"host":"10.0.0.5"' in request
    assert "PRIVATE" not in request
    assert "10.0.0.6" not in request  # the DR agent writes locally; only the source is addressed
