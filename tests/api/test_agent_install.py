"""``drsyncer agent install`` against the sandbox: objects, key Secret, idempotence, readiness timeout."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from drsyncer.cli.main import app
from drsyncer.sandbox import FakeCluster


def _config(path: Path, source_kubeconfig: Path, dr_kubeconfig: Path, *, node_selector: str = "") -> Path:
    deployment = f", deployment: {{nodeSelector: {{{node_selector}}}}}" if node_selector else ""
    path.write_text(
        f"""\
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {{name: source}}
spec:
  kubeconfig: {{path: {source_kubeconfig}, context: source}}
  pvcSync: {{enabled: true, ssh: {{port: 2222, agentCIDRs: [10.10.0.0/16]}}{deployment}}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {{name: dr}}
spec:
  kubeconfig: {{path: {dr_kubeconfig}, context: dr}}
  pvcSync: {{enabled: true, ssh: {{port: 2223, allowedSourceCIDRs: [10.20.0.0/16]}}}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: ClusterMapping
metadata: {{name: prod-dr}}
spec: {{sourceCluster: source, targetCluster: dr}}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def background(source_cluster: FakeCluster, dr_cluster: FakeCluster) -> Iterator[None]:
    """The sandbox kubelets and DaemonSet controllers run in the background during the test."""
    source_cluster.set_background(True)
    dr_cluster.set_background(True)
    try:
        yield
    finally:
        source_cluster.set_background(False)
        dr_cluster.set_background(False)


def _generate(runner: CliRunner, config: Path, keys: Path) -> None:
    result = runner.invoke(
        app, ["keys", "generate", str(config), "--cluster-mapping", "prod-dr", "--out", str(keys)]
    )
    assert result.exit_code == 0, result.output


def _install(runner: CliRunner, config: Path, keys: Path, cluster: str, *extra: str) -> object:
    return runner.invoke(
        app,
        [
            "agent",
            "install",
            str(config),
            "--cluster",
            cluster,
            "--key-dir",
            str(keys),
            "--timeout",
            "20",
            *extra,
        ],
    )


def test_install_applies_agent_and_both_directions_keys_and_reinstall_sends_nothing(
    runner: CliRunner,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    background: None,
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "config.yaml", source_kubeconfig, dr_kubeconfig)
    keys = tmp_path / "keys"
    _generate(runner, config, keys)

    first = _install(runner, config, keys, "dr")

    assert first.exit_code == 0, first.output
    assert "agent ready in cluster dr: 2/2 ready" in first.stdout
    assert dr_cluster.get("v1", "Namespace", "dr-syncer") is not None
    assert dr_cluster.get("v1", "ServiceAccount", "dr-syncer-agent", "dr-syncer") is not None
    daemon_set = dr_cluster.get("apps/v1", "DaemonSet", "dr-syncer-agent", "dr-syncer")
    assert daemon_set is not None
    assert daemon_set["status"]["numberReady"] == 2
    container = daemon_set["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == 2223
    secret = dr_cluster.get("v1", "Secret", "dr-syncer-agent-keys", "dr-syncer")
    assert secret is not None
    files = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    # DR of prod-dr: obeys its control key, holds its pull key and the source host key.
    assert files["pull-prod-dr"] == (keys / "prod-dr" / "pull-key").read_text()
    assert files["known-hosts-prod-dr"].startswith("[*]:2222 ssh-ed25519 ")
    # Source of the reverse set dr-to-source: serves its pull key read-only.
    reverse_pull = (keys / "dr-to-source" / "pull-key.pub").read_text().split()[1]
    assert any(
        "dr-syncer-source-gate" in line and reverse_pull in line
        for line in files["authorized_keys"].splitlines()
    )
    assert "pull-dr-to-source" not in files
    # The DR cluster pulls (prod-dr): its agents mount the pods dir read-write; the control key's pulls
    # may only reach the source cluster's agent port.
    assert "--source-port 2222" in files["authorized_keys"]
    assert "--source-cidr=10.10.0.0/16" in files["authorized_keys"]  # source cluster's agentCIDRs
    assert all(  # DR cluster's allowedSourceCIDRs bind every key it accepts
        'from="10.20.0.0/16"' in line for line in files["authorized_keys"].splitlines()
    )
    pods = next(m for m in container["volumeMounts"] if m["name"] == "pods")
    assert pods["readOnly"] is False
    managers = {entry["manager"] for entry in daemon_set["metadata"]["managedFields"]}
    assert "dr-syncer" in managers

    dr_cluster.audit.clear()
    again = _install(runner, config, keys, "dr")

    assert again.exit_code == 0, again.output
    assert dr_cluster.audit.mutations() == []
    assert "0 object(s) changed" in again.stdout

    source = _install(runner, config, keys, "source")
    assert source.exit_code == 0, source.output
    source_files = {
        k: base64.b64decode(v).decode()
        for k, v in source_cluster.get("v1", "Secret", "dr-syncer-agent-keys", "dr-syncer")["data"].items()
    }
    assert source_files["pull-dr-to-source"] == (keys / "dr-to-source" / "pull-key").read_text()
    assert "pull-prod-dr" not in source_files


def test_changed_keys_update_the_secret_and_roll_the_daemon_set(
    runner: CliRunner,
    dr_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    background: None,
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "config.yaml", source_kubeconfig, dr_kubeconfig)
    keys = tmp_path / "keys"
    _generate(runner, config, keys)
    assert _install(runner, config, keys, "dr").exit_code == 0
    before = dr_cluster.get("apps/v1", "DaemonSet", "dr-syncer-agent", "dr-syncer")
    assert before is not None

    rotated = runner.invoke(
        app, ["keys", "rotate", str(config), "--cluster-mapping", "prod-dr", "--out", str(keys)]
    )
    assert rotated.exit_code == 0, rotated.output
    dr_cluster.audit.clear()
    result = _install(runner, config, keys, "dr")

    assert result.exit_code == 0, result.output
    changed = {(e.method, e.path.rsplit("/", 1)[-1]) for e in dr_cluster.audit.mutations()}
    assert changed == {("PATCH", "dr-syncer-agent-keys"), ("PATCH", "dr-syncer-agent")}
    after = dr_cluster.get("apps/v1", "DaemonSet", "dr-syncer-agent", "dr-syncer")
    assert after is not None
    version = "dr-syncer.io/keys-version"
    assert (
        after["spec"]["template"]["metadata"]["annotations"][version]
        != before["spec"]["template"]["metadata"]["annotations"][version]
    )


def test_timeout_when_no_node_matches_the_node_selector(
    runner: CliRunner,
    source_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    background: None,
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "config.yaml", source_kubeconfig, dr_kubeconfig, node_selector="disk: nvme")
    keys = tmp_path / "keys"
    _generate(runner, config, keys)

    result = runner.invoke(
        app,
        ["agent", "install", str(config), "--cluster", "source", "--key-dir", str(keys), "--timeout", "1"],
    )

    assert result.exit_code == 1
    assert "DaemonSet dr-syncer/dr-syncer-agent not ready after 1 s: 0/0 ready" in result.stderr
    assert "nodeSelector" in result.stderr
    assert source_cluster.get("apps/v1", "DaemonSet", "dr-syncer-agent", "dr-syncer") is not None


def test_missing_keys_name_the_command_to_run(
    runner: CliRunner, source_kubeconfig: Path, dr_kubeconfig: Path, tmp_path: Path
) -> None:
    config = _config(tmp_path / "config.yaml", source_kubeconfig, dr_kubeconfig)

    result = _install(runner, config, tmp_path / "empty", "dr")

    assert result.exit_code == 2
    assert "drsyncer keys generate" in result.stderr


def test_dry_run_prints_objects_with_redacted_secret_and_changes_nothing(
    runner: CliRunner,
    dr_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "config.yaml", source_kubeconfig, dr_kubeconfig)
    keys = tmp_path / "keys"
    _generate(runner, config, keys)
    dr_cluster.audit.clear()

    result = _install(runner, config, keys, "dr", "--dry-run")

    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in documents] == ["Namespace", "ServiceAccount", "Secret", "DaemonSet"]
    assert "PRIVATE KEY" not in result.output
    assert "Secret dr-syncer/dr-syncer-agent-keys: would create" in result.stderr
    assert dr_cluster.audit.mutations() == []
