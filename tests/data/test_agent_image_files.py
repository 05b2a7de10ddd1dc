"""The agent image's entrypoint renders an sshd config that sshd itself accepts."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

from drsyncer.keys import authorized_keys, generate_host_key, generate_mapping_keys
from tasks.data.agent_host_keys import host_key_from_log

AGENT = Path(__file__).resolve().parents[2] / "agent"


def test_entrypoint_renders_a_config_sshd_accepts(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    (keys_dir / "ssh_host_ed25519_key").write_text(generate_host_key("prod").private_openssh)
    (keys_dir / "authorized_keys").write_text(authorized_keys(pull_keys=[generate_mapping_keys("m").pull]))
    run_dir = tmp_path / "run"
    env = {
        "PATH": os.environ["PATH"],
        "SSH_PORT": "2299",
        "KEYS_DIR": str(keys_dir),
        "RUN_DIR": str(run_dir),
        "SSHD_TEMPLATE": str(AGENT / "sshd_config.tmpl"),
        "SSHD_CHECK_ONLY": "1",
    }

    result = subprocess.run(
        ["/bin/sh", str(AGENT / "entrypoint.sh")], env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    config = (run_dir / "sshd_config").read_text()
    assert "Port 2299" in config
    assert "StrictModes yes" in config
    assert "${" not in config
    assert oct((run_dir / "authorized_keys").stat().st_mode & 0o777) == "0o600"


def test_entrypoint_refuses_to_start_without_keys(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "KEYS_DIR": str(tmp_path), "RUN_DIR": str(tmp_path / "run")}

    result = subprocess.run(
        ["/bin/sh", str(AGENT / "entrypoint.sh")], env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode == 66
    assert "missing" in result.stderr


def _start_twice(tmp_path: Path, node: str) -> list[subprocess.CompletedProcess[str]]:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(exist_ok=True)
    legacy = generate_host_key("prod")
    (keys_dir / "ssh_host_ed25519_key").write_text(legacy.private_openssh)  # a pre-per-node Secret
    (keys_dir / "authorized_keys").write_text(authorized_keys(pull_keys=[generate_mapping_keys("m").pull]))
    env = {"PATH": os.environ["PATH"], "KEYS_DIR": str(keys_dir), "SSHD_CHECK_ONLY": "1",
           "SSHD_TEMPLATE": str(AGENT / "sshd_config.tmpl"), "NODE_NAME": node}  # fmt: skip
    return [
        subprocess.run(
            ["/bin/sh", str(AGENT / "entrypoint.sh")],
            env={**env, "RUN_DIR": str(tmp_path / run)},
            capture_output=True,
            text=True,
            check=False,
        )
        for run in ("run-1", "run-2")
    ]


def test_entrypoint_generates_its_own_host_key_and_prints_it(tmp_path: Path) -> None:
    first, second = _start_twice(tmp_path, "node-a")

    assert first.returncode == 0, first.stderr
    printed = [line for line in first.stdout.splitlines() if line.startswith("dr-syncer-agent host-key ")]
    assert len(printed) == 1
    public = (tmp_path / "run-1" / "ssh_host_ed25519_key.pub").read_text().split()
    assert host_key_from_log(first.stdout, "node-a") == f"{public[0]} {public[1]}"
    assert host_key_from_log(second.stdout, "node-a") != host_key_from_log(first.stdout, "node-a")
    legacy = (tmp_path / "keys" / "ssh_host_ed25519_key").read_text()
    assert (tmp_path / "run-1" / "ssh_host_ed25519_key").read_text() != legacy
    assert oct((tmp_path / "run-1" / "ssh_host_ed25519_key").stat().st_mode & 0o777) == "0o600"
    assert "ignoring the shared host key" in first.stderr


def test_entrypoint_refuses_a_node_name_that_could_forge_log_lines(tmp_path: Path) -> None:
    results = _start_twice(tmp_path, "node-a\ndr-syncer-agent host-key node-b ssh-ed25519 AAAA")

    assert all(result.returncode == 64 for result in results)
    assert all("host-key" not in result.stdout for result in results)


def _dockerfile_rsync_check() -> tuple[str, str]:
    """The Dockerfile's ``RSYNC_MIN_VERSION`` and its build-time rsync check as a shell script."""
    lines = (AGENT / "Dockerfile").read_text().splitlines()
    minimum = next(line.split("=", 1)[1] for line in lines if line.startswith("ARG RSYNC_MIN_VERSION="))
    start = next(i for i, line in enumerate(lines) if line.startswith("RUN version="))
    block = [lines[start].removeprefix("RUN ")]
    while block[-1].endswith("\\"):
        start += 1
        block.append(lines[start])
    return minimum, "\n".join(block)


def test_the_installed_rsync_is_the_one_the_image_requires() -> None:
    minimum, script = _dockerfile_rsync_check()

    passing = subprocess.run(
        ["/bin/sh", "-c", script],
        env={**os.environ, "RSYNC_MIN_VERSION": minimum},
        check=False,
        capture_output=True,
        text=True,
    )
    too_new = subprocess.run(
        ["/bin/sh", "-c", script],
        env={**os.environ, "RSYNC_MIN_VERSION": "99.0.0"},
        check=False,
        capture_output=True,
        text=True,
    )

    assert passing.returncode == 0, passing.stderr
    assert too_new.returncode == 1
    assert "older than 99.0.0" in too_new.stderr


def test_entrypoint_listens_on_the_node_address_only(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    (keys_dir / "ssh_host_ed25519_key").write_text(generate_host_key("prod").private_openssh)
    (keys_dir / "authorized_keys").write_text(authorized_keys(pull_keys=[generate_mapping_keys("m").pull]))
    base = {"PATH": os.environ["PATH"], "KEYS_DIR": str(keys_dir), "SSHD_CHECK_ONLY": "1",
            "SSHD_TEMPLATE": str(AGENT / "sshd_config.tmpl")}  # fmt: skip

    good = subprocess.run(
        ["/bin/sh", str(AGENT / "entrypoint.sh")],
        env={**base, "RUN_DIR": str(tmp_path / "run"), "LISTEN_ADDRESS": "10.1.2.3"},
        capture_output=True,
        text=True,
        check=False,
    )
    bad = subprocess.run(
        ["/bin/sh", str(AGENT / "entrypoint.sh")],
        env={**base, "RUN_DIR": str(tmp_path / "run2"), "LISTEN_ADDRESS": "0.0.0.0\nPermitRootLogin yes"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert "ListenAddress 10.1.2.3" in (tmp_path / "run" / "sshd_config").read_text()
    assert bad.returncode == 64
    assert good.returncode in (
        0,
        255,
    )  # sshd -t may refuse an address this host lacks; the config is rendered


def test_the_image_copies_every_module_the_forced_commands_import() -> None:
    copied: list[str] = []
    in_copy = False
    for line in (AGENT / "Dockerfile").read_text().splitlines():
        in_copy = line.startswith("COPY ") or (in_copy and line.startswith(" "))
        if in_copy:
            copied += line.removeprefix("COPY ").rstrip("\\").split()
    needed: set[str] = set()
    frontier = ["agent/control.py", "agent/source_gate.py"]
    while frontier:
        module = frontier.pop()
        if module in needed:
            continue
        needed.add(module)
        tree = ast.parse((AGENT.parent / module).read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith(("agent.", "tasks."))
            ):
                frontier.append(node.module.replace(".", "/") + ".py")

    missing = sorted(module for module in needed if module not in copied)
    assert missing == []
