"""``drsyncer agent render`` and ``drsyncer keys generate`` on the file-mode example configuration."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from drsyncer.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[3] / "deployments" / "examples" / "file-mode"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_agent_render_prints_the_manifests_as_yaml(runner: CliRunner) -> None:
    result = runner.invoke(app, ["agent", "render", str(EXAMPLE), "--cluster", "dr"])

    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in documents] == ["Namespace", "ServiceAccount", "DaemonSet"]
    assert documents[2]["spec"]["template"]["metadata"]["labels"]["dr-syncer.io/remote-cluster"] == "dr"


def test_agent_render_unknown_cluster_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["agent", "render", str(EXAMPLE), "--cluster", "nope"])

    assert result.exit_code == 2


def test_keys_generate_writes_keys_and_secrets_and_refuses_to_overwrite(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "keys"
    args = ["keys", "generate", str(EXAMPLE), "--cluster-mapping", "source-to-dr", "--out", str(out)]

    first = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "PRIVATE KEY" not in first.output
    pull = out / "source-to-dr" / "pull-key"
    assert pull.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert oct(pull.stat().st_mode & 0o777) == "0o600"
    dr_secret = yaml.safe_load((out / "_secrets" / "dr-agent-keys.yaml").read_text())
    dr_files = {k: base64.b64decode(v).decode() for k, v in dr_secret["data"].items()}
    assert dr_files["pull-source-to-dr"] == pull.read_text()
    control = out / "source-to-dr" / "control-key"
    assert control.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert (out / "source-to-dr" / "known_hosts").read_text().startswith("[*]:2222 ssh-ed25519 ")
    assert "dr-syncer-control" in dr_files["authorized_keys"]
    source_secret = yaml.safe_load((out / "_secrets" / "source-agent-keys.yaml").read_text())
    assert "pull-source-to-dr" not in source_secret["data"]

    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert pull.read_text() == dr_files["pull-source-to-dr"]
