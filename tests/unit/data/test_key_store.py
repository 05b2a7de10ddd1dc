"""The key directory: key sets, the three rotation steps, reverse key sets, agent Secrets, install helpers."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.manifests import AgentSettings
from drsyncer.agent_install import (
    AgentInstallTimeoutError,
    DaemonSetStatus,
    install_objects,
    wait_for_daemon_set,
)
from drsyncer.cli.main import app
from drsyncer.errors import UsageError
from drsyncer.key_store import (
    KeySetRole,
    RotationState,
    cluster_agent_secret,
    finish_rotation,
    host_key,
    load_key_set,
    reverse_key_set_name,
    rotation_state,
    stage_rotation,
    switch_rotation,
    write_file,
    write_key_set,
)
from drsyncer.keys import generate_mapping_keys

EXAMPLE = Path(__file__).resolve().parents[3] / "deployments" / "examples" / "file-mode"


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    dr_host, _ = host_key(keys, "dr", create=True)
    host_key(keys, "source", create=True)
    write_key_set(keys, generate_mapping_keys("m"), dr_host_key=dr_host, dr_port=2222)
    return keys


def _authorized(key_dir: Path, cluster: str) -> str:
    secret = cluster_agent_secret(key_dir, cluster, [KeySetRole("m", "source", "dr", 2222)])
    return base64.b64decode(secret["data"]["authorized_keys"]).decode()


def _blob(path: Path) -> str:
    return path.read_text().split()[1]


def test_rotation_accepts_both_until_finish_and_switches_use_in_step_two(key_dir: Path) -> None:
    old_pull, old_control = _blob(key_dir / "m" / "pull-key.pub"), _blob(key_dir / "m" / "control-key.pub")
    old_private = (key_dir / "m" / "control-key").read_text()

    staged = stage_rotation(key_dir, "m")
    new_pull, new_control = (
        _blob(key_dir / "m" / "pull-key.next.pub"),
        _blob(key_dir / "m" / "control-key.next.pub"),
    )

    assert rotation_state(key_dir, "m") is RotationState.staged
    assert staged.control.current.private_openssh == old_private  # still in use
    assert old_pull in _authorized(key_dir, "source")
    assert new_pull in _authorized(key_dir, "source")
    assert old_control in _authorized(key_dir, "dr")
    assert new_control in _authorized(key_dir, "dr")

    switched = switch_rotation(key_dir, "m")

    assert rotation_state(key_dir, "m") is RotationState.switched
    assert _blob(key_dir / "m" / "control-key.pub") == new_control
    assert switched.control.current.private_openssh != old_private
    assert old_control in _authorized(key_dir, "dr")
    assert new_control in _authorized(key_dir, "dr")
    dr_secret = cluster_agent_secret(key_dir, "dr", [KeySetRole("m", "source", "dr", 2222)])
    assert base64.b64decode(dr_secret["data"]["pull-m"]).decode() == (key_dir / "m" / "pull-key").read_text()

    finished = finish_rotation(key_dir, "m")

    assert rotation_state(key_dir, "m") is RotationState.none
    assert finished.control.previous_public == ()
    assert finished.pull.previous_public == ()
    assert old_pull not in _authorized(key_dir, "source")
    assert new_pull in _authorized(key_dir, "source")
    assert old_control not in _authorized(key_dir, "dr")
    assert new_control in _authorized(key_dir, "dr")


def test_rotation_steps_must_come_in_order(key_dir: Path) -> None:
    with pytest.raises(UsageError, match="no staged rotation"):
        switch_rotation(key_dir, "m")
    with pytest.raises(UsageError, match="cannot finish"):
        finish_rotation(key_dir, "m")
    stage_rotation(key_dir, "m")
    with pytest.raises(UsageError, match="already being rotated"):
        stage_rotation(key_dir, "m")
    with pytest.raises(UsageError, match="cannot finish"):
        finish_rotation(key_dir, "m")


def test_missing_key_set_names_the_generate_command(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        load_key_set(tmp_path, "nope")
    assert "drsyncer keys generate CONFIG --cluster-mapping nope" in raised.value.fix


def test_keys_generate_makes_the_reverse_key_set_and_rotate_moves_both(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "keys"
    base = [str(EXAMPLE), "--cluster-mapping", "source-to-dr", "--out", str(out)]

    generated = runner.invoke(app, ["keys", "generate", *base])

    assert generated.exit_code == 0, generated.output
    assert reverse_key_set_name("source", "dr") == "dr-to-source"
    reverse = out / "dr-to-source"
    assert (reverse / "control-key").is_file()
    assert (reverse / "pull-key").is_file()
    dr_host = (out / "_hosts" / "source" / "ssh_host_ed25519_key.pub").read_text().split()[1]
    assert (reverse / "known_hosts").read_text() == f"[*]:2222 ssh-ed25519 {dr_host}\n"
    assert (out / "_secrets" / "dr-to-source-controller.yaml").is_file()

    for extra, state in (([], "staged"), (["--switch"], "switched"), (["--retire-old"], "none")):
        step = runner.invoke(app, ["keys", "rotate", *base, *extra])
        assert step.exit_code == 0, step.output
        assert rotation_state(out, "source-to-dr").value == state
        assert rotation_state(out, "dr-to-source").value == state
    assert "old keys retired" in step.stdout

    early = runner.invoke(app, ["keys", "rotate", *base, "--finish"])
    assert early.exit_code == 2
    assert "cannot finish" in early.stderr


def test_keys_generate_no_reverse(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    result = CliRunner().invoke(
        app,
        [
            "keys",
            "generate",
            str(EXAMPLE),
            "--cluster-mapping",
            "source-to-dr",
            "--out",
            str(out),
            "--no-reverse",
        ],
    )
    assert result.exit_code == 0, result.output
    assert not (out / "dr-to-source").exists()


def test_install_objects_put_the_secret_before_the_daemon_set_with_its_digest(key_dir: Path) -> None:
    secret = cluster_agent_secret(key_dir, "dr", [KeySetRole("m", "source", "dr", 2222)])
    objects = install_objects(AgentSettings(cluster="dr"), secret)
    assert [o["kind"] for o in objects] == ["Namespace", "ServiceAccount", "Secret", "DaemonSet"]
    version = objects[3]["spec"]["template"]["metadata"]["annotations"]["dr-syncer.io/keys-version"]
    assert len(version) == 16
    stage_rotation(key_dir, "m")
    rotated = cluster_agent_secret(key_dir, "dr", [KeySetRole("m", "source", "dr", 2222)])
    rotated_objects = install_objects(AgentSettings(cluster="dr"), rotated)
    assert (
        rotated_objects[3]["spec"]["template"]["metadata"]["annotations"]["dr-syncer.io/keys-version"]
        != version
    )


def _daemon_set(generation: int, **status: int) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": status}


@pytest.mark.parametrize(
    ("obj", "ready"),
    [
        (
            _daemon_set(
                2, desiredNumberScheduled=2, numberReady=2, updatedNumberScheduled=2, observedGeneration=2
            ),
            True,
        ),
        (
            _daemon_set(
                3, desiredNumberScheduled=2, numberReady=2, updatedNumberScheduled=2, observedGeneration=2
            ),
            False,
        ),
        (_daemon_set(1, desiredNumberScheduled=2, numberReady=1, observedGeneration=1), False),
        (
            _daemon_set(
                1, desiredNumberScheduled=2, numberReady=2, updatedNumberScheduled=1, observedGeneration=1
            ),
            False,
        ),
        (_daemon_set(1, desiredNumberScheduled=0, numberReady=0, observedGeneration=1), False),
        (None, False),
    ],
)
def test_daemon_set_readiness(obj: dict[str, Any] | None, ready: bool) -> None:
    assert DaemonSetStatus.of(obj).is_ready is ready


class _Client:
    cluster = "c"

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.answers = answers

    def get(self, path: str) -> dict[str, Any]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_wait_polls_until_ready_and_times_out_with_the_last_status() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    seen: list[str] = []
    rolling = _daemon_set(1, desiredNumberScheduled=2, numberReady=1, observedGeneration=1)
    done = _daemon_set(1, desiredNumberScheduled=2, numberReady=2, observedGeneration=1)
    status = wait_for_daemon_set(
        _Client([rolling, rolling, done]),  # type: ignore[arg-type]
        timeout_seconds=10,
        on_status=lambda s: seen.append(s.describe()),
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert status.is_ready
    assert waits == [1.0, 1.0]
    assert seen[0] == "1/2 ready (generation 1 observed)"

    with pytest.raises(AgentInstallTimeoutError, match=r"not ready after 3 s: 1/2 ready") as raised:
        wait_for_daemon_set(
            _Client([rolling]),  # type: ignore[arg-type]
            timeout_seconds=3,
            on_status=lambda s: None,
            clock=lambda: now[0],
            sleep=sleep,
        )
    assert "kubectl -n dr-syncer get pods" in raised.value.fix


# --- key files: atomic, private from the first byte, never through a planted symlink ---------------------


def test_private_key_write_replaces_a_planted_symlink_and_leaves_its_target_alone(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    bait = tmp_path / "attacker-readable"
    bait.write_text("bait")
    (key_dir / "control-key").symlink_to(bait)

    write_file(key_dir / "control-key", "PRIVATE KEY", private=True)

    assert bait.read_text() == "bait"
    assert not (key_dir / "control-key").is_symlink()
    assert (key_dir / "control-key").read_text() == "PRIVATE KEY"
    assert (key_dir / "control-key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in key_dir.iterdir()) == ["control-key"]  # no temp file left behind


def test_key_directories_are_created_0700_and_loose_ones_tightened(tmp_path: Path) -> None:
    write_file(tmp_path / "keys" / "prod-to-dr" / "pull", "PRIVATE KEY", private=True)
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    write_file(loose / "key.pub", "ssh-ed25519 AAAA x", private=False)

    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "keys" / "prod-to-dr").stat().st_mode & 0o777 == 0o700
    assert loose.stat().st_mode & 0o777 == 0o700
    assert (loose / "key.pub").stat().st_mode & 0o777 == 0o644


def test_a_symlinked_key_directory_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "keys").symlink_to(elsewhere)

    with pytest.raises(UsageError, match="symlink"):
        write_file(tmp_path / "keys" / "control-key", "PRIVATE KEY", private=True)

    assert list(elsewhere.iterdir()) == []
