"""The agent image's entrypoint renders an sshd config that sshd itself accepts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from drsyncer.keys import authorized_keys, generate_host_key, generate_mapping_keys

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
