"""What the agents' keys can NOT do: the pull key is read-only rsync, the control key runs four verbs.

Issue 12's least-privilege attacks (secrets next to a volume, symlinks, races, options) are in
``test_least_privilege.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from drsyncer.keys import known_hosts_file, pull_key_file
from tasks.data.rsync_command import SshTransport, ssh_argv
from tests.fixtures.agents import MAPPING, DataSandbox


def _pull_key_ssh(sandbox: DataSandbox, node: str) -> list[str]:
    dr_config = sandbox.agents["dr-1"].config_dir
    return ssh_argv(
        SshTransport(
            port=sandbox.agents[node].port,
            identity_file=str(dr_config / pull_key_file(MAPPING)),
            known_hosts_file=str(dr_config / known_hosts_file(MAPPING)),
        )
    )


def _control_ssh(sandbox: DataSandbox) -> list[str]:
    return ssh_argv(
        SshTransport(
            port=sandbox.agents["dr-1"].port,
            identity_file=str(sandbox.credentials.key_file),
            known_hosts_file=str(sandbox.credentials.known_hosts_file),
        )
    )


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _control(sandbox: DataSandbox, command: str) -> subprocess.CompletedProcess[str]:
    return _run([*_control_ssh(sandbox), "root@127.0.0.1", command])


# --- the pull key (source agents) ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["id", "sh -c id", "cat /etc/passwd", "rsync --version; id", ""])
def test_pull_key_refuses_a_shell(data_sandbox: DataSandbox, command: str) -> None:
    result = _run([*_pull_key_ssh(data_sandbox, "prod-1"), "root@127.0.0.1", command])

    assert result.returncode != 0
    assert "uid=" not in result.stdout
    assert "root:" not in result.stdout


def test_pull_key_refuses_a_tty(data_sandbox: DataSandbox) -> None:
    result = _run([*_pull_key_ssh(data_sandbox, "prod-1"), "-tt", "root@127.0.0.1"])

    assert result.returncode != 0


def test_pull_key_refuses_writes(data_sandbox: DataSandbox, tmp_path: Path) -> None:
    source = data_sandbox.volume("prod-1")
    (source.path / "original").write_text("keep")
    (tmp_path / "evil").write_text("overwrite")

    result = _run(
        ["rsync", "-a", "--delete", "-e", " ".join(_pull_key_ssh(data_sandbox, "prod-1")),
         f"{tmp_path}/", f"root@127.0.0.1:{source.endpoint.path}/"]
    )  # fmt: skip

    assert result.returncode != 0
    assert sorted(p.name for p in source.path.iterdir()) == ["original"]


@pytest.mark.parametrize("remote", ["../", "../../", "x/../../", "/etc/", "/"])
def test_pull_key_refuses_to_read_outside_the_pods_dir(
    data_sandbox: DataSandbox, tmp_path: Path, remote: str
) -> None:
    result = _run(
        ["rsync", "-a", "-e", " ".join(_pull_key_ssh(data_sandbox, "prod-1")), f"root@127.0.0.1:{remote}",
         f"{tmp_path}/out/"]
    )  # fmt: skip

    copied = {p.name for p in (tmp_path / "out").rglob("*")} if (tmp_path / "out").exists() else set()
    assert "passwd" not in copied
    assert "sshd_config" not in copied
    assert "pods" not in copied
    if remote.startswith("."):
        assert result.returncode != 0


# --- the control key (DR agents) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["id", "sh -c id", "bash", "probe; id", "rsync --server .", "pull", "checksum", "scp -t /tmp", ""],
)
def test_control_key_refuses_other_commands(data_sandbox: DataSandbox, command: str) -> None:
    result = _control(data_sandbox, command)

    assert result.returncode in (64, 65, 66)
    assert "uid=" not in result.stdout


def test_control_key_probe_answers(data_sandbox: DataSandbox) -> None:
    result = _control(data_sandbox, "probe")

    assert result.returncode == 0
    assert json.loads(result.stdout)["ok"] is True


@pytest.mark.parametrize("path", ["..", "../..", "/etc", "/", "x/../../..", "./"])
def test_control_key_refuses_path_escapes(data_sandbox: DataSandbox, path: str) -> None:
    for verb in ("checksum", "df"):
        result = _control(data_sandbox, f"{verb} {path}")
        assert result.returncode in (65, 66), (verb, path, result.stderr)
        assert result.stdout == ""


def test_control_key_refuses_symlink_escape(data_sandbox: DataSandbox, tmp_path: Path) -> None:
    destination = data_sandbox.volume("dr-1")
    outside = tmp_path / "outside"
    outside.mkdir()
    escape = destination.path.parent / "escape"
    os.symlink(outside, escape)
    relative = str(escape.relative_to(data_sandbox.agents["dr-1"].node.pods_dir))
    source = data_sandbox.volume("prod-1")
    (source.path / "payload").write_text("x")
    request = {
        "source": {
            "host": "127.0.0.1",
            "port": data_sandbox.agents["prod-1"].port,
            "path": source.endpoint.path,
        },
        "destination": {"path": relative},
    }

    assert _control(data_sandbox, f"checksum {relative}").returncode == 65
    result = _control(data_sandbox, "pull " + json.dumps(request))

    assert result.returncode == 65
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", "-oProxyCommand=touch /tmp/pwned"),
        ("host", "127.0.0.1 -oProxyCommand=id"),
        ("host", "a;id"),
        ("port", "2222"),
        ("port", 0),
        ("path", "../x"),
        ("path", "/etc"),
        ("path", "-e sh"),
    ],
)
def test_pull_refuses_injected_source_fields(data_sandbox: DataSandbox, field: str, value: object) -> None:
    destination = data_sandbox.volume("dr-1")
    path = data_sandbox.volume("prod-1").endpoint.path
    source = {"host": "127.0.0.1", "port": data_sandbox.agents["prod-1"].port, "path": path}
    source[field] = value  # type: ignore[assignment]

    result = _control(
        data_sandbox,
        "pull " + json.dumps({"source": source, "destination": {"path": destination.endpoint.path}}),
    )

    assert result.returncode == 65
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    "option", ["-e", "--rsh=sh", "--rsync-path=id", "--remove-source-files", "-L", "/etc"]
)
def test_pull_refuses_dangerous_rsync_options(data_sandbox: DataSandbox, option: str) -> None:
    destination = data_sandbox.volume("dr-1")
    request = {
        "source": {
            "host": "127.0.0.1",
            "port": data_sandbox.agents["prod-1"].port,
            "path": data_sandbox.volume("prod-1").endpoint.path,
        },
        "destination": {"path": destination.endpoint.path},
        "options": {"rsyncOptions": [option]},
    }

    result = _control(data_sandbox, "pull " + json.dumps(request))

    assert result.returncode == 65
    assert "refused" in result.stderr or "allowlist" in result.stderr
