"""dr-syncer's local Prefect server as users meet it: real ``drsyncer`` processes, no PREFECT_API_URL.

One server (its own temporary data directory, a free port) is shared by the module, in file order: two
concurrent first commands start it, later commands reuse it, a sync's run and a stage's are kept, a
crash is detected and repaired with the history intact, and a server with a short idle timeout stops by
itself. Each real server start costs 10-30 s on 2 cores, so there are three. Refusals (taken port,
newer database, start-up timeout) need no healthy server. Nothing here touches the user's own local
server or data directory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.sync.conftest import MAPPING, SyncWorld, poll
from tests.e2e.test_cli_sync import world  # noqa: F401  (the two-cluster CLI world, reused)
from tests.factories import make_configmap

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
SERVER_MODULE = "drsyncer.local_server_process"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalServer:
    """A data directory, a port and the environment of commands that use them (no PREFECT_API_URL)."""

    data_dir: Path
    port: int
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 240, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run ``drsyncer ARGS`` as a user would, with ``extra_env`` on top."""
        return subprocess.run(
            [DRSYNCER, *args],
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def state(self) -> dict[str, Any]:
        """The state file of the running server."""
        document: dict[str, Any] = json.loads((self.data_dir / "server.json").read_text())
        return document

    def starts_logged(self) -> int:
        """How many times a server was started in this data directory."""
        log = self.data_dir / "server.log"
        return log.read_text().count(" starting on ") if log.exists() else 0

    def server_pids(self) -> list[int]:
        """Live processes running our server module for this data directory (never a zombie)."""
        pids = []
        marker = str(self.data_dir / "server.json").encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if SERVER_MODULE.encode() in command and marker in command:
                pids.append(int(entry.name))
        return pids

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST (or GET without ``body``) to the server's Prefect API."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api{path}",
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _environment(data_dir: Path, port: int, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PREFECT_API_URL", "KUBECONFIG") and not key.startswith("DRSYNCER_SERVER_")
    }
    env.update(
        {
            "DRSYNCER_PREFECT": "local",
            "DRSYNCER_DATA_DIR": str(data_dir),
            "DRSYNCER_SERVER_PORT": str(port),
            "DRSYNCER_SERVER_IDLE_TIMEOUT": "900",
            "DRSYNCER_PREFECT_STARTUP_TIMEOUT": "180",
            "PREFECT_HOME": str(data_dir.parent / "client-prefect-home"),
            **overrides,
        }
    )
    return env


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A data directory and a free port for the module's server; the server is stopped by PID at the end."""
    root = tmp_path_factory.mktemp("local-server")
    data_dir = root / "data"
    port = _free_port()
    server = LocalServer(data_dir=data_dir, port=port, env=_environment(data_dir, port))
    yield server
    for pid in server.server_pids():
        os.kill(pid, signal.SIGTERM)
    poll(lambda: not server.server_pids(), timeout=30)


def test_two_concurrent_first_commands_share_one_new_server(local_server: LocalServer) -> None:
    commands = [
        subprocess.Popen(
            [DRSYNCER, "server", "start"],
            env=local_server.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [command.communicate(timeout=240) for command in commands]

    assert [command.returncode for command in commands] == [0, 0], outputs
    pid = local_server.state()["pid"]
    assert all(f"(pid {pid})" in stdout for stdout, _ in outputs), outputs
    assert local_server.server_pids() == [pid]
    assert local_server.starts_logged() == 1
    announced = [stderr for _, stderr in outputs if "started dr-syncer's local Prefect server" in stderr]
    assert len(announced) == 1, "exactly one command started it, and said so"
    assert f"UI http://127.0.0.1:{local_server.port}" in announced[0]
    assert (local_server.data_dir / "prefect.db").exists()


def test_a_later_command_reuses_the_running_server_and_shows_its_ui(local_server: LocalServer) -> None:
    pid = local_server.state()["pid"]

    result = local_server.run("server", "status", "--output", "json")

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["pid"] == pid
    assert status["uiUrl"] == f"http://127.0.0.1:{local_server.port}"
    assert status["database"] == str(local_server.data_dir / "prefect.db")
    assert local_server.starts_logged() == 1


def test_a_sync_without_prefect_api_url_runs_on_the_local_server_and_its_run_is_kept(
    local_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    pid = local_server.state()["pid"]
    world.seed(*(make_configmap(f"settings-{index}", server_fields=False) for index in range(12)))
    world.configure()

    result = local_server.run("sync", str(world.config_path), "--mapping", MAPPING, "--output", "json")

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["phase"] == "Completed"
    assert local_server.server_pids() == [pid], "the command reused the server and left it running"
    assert local_server.starts_logged() == 1
    runs = local_server.api("/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
    mappings = [str(run["parameters"].get("mapping", "")).rpartition("/")[2] for run in runs]
    assert mappings.count(MAPPING) == 1, mappings
    run_id = runs[mappings.index(MAPPING)]["id"]
    in_run = {"flow_runs": {"id": {"any_": [run_id]}}}
    task_names = [task["name"] for task in local_server.api("/task_runs/filter", in_run)]
    assert sum("configmap" in name.lower() for name in task_names) <= 2, (
        f"one task per stage and kind, never per object: {sorted(task_names)}"
    )
    artifact_keys = [
        artifact["key"]
        for artifact in local_server.api(
            "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
        )
    ]
    assert artifact_keys, "the run's report is published"
    assert len(artifact_keys) == len(set(artifact_keys)), f"each artifact built once: {artifact_keys}"


def test_a_dr_command_without_prefect_api_url_runs_on_the_local_server_too(
    local_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    """``stage``/``cutover``/``failback`` import the flows (and so Prefect) before they run: the local
    server must be chosen first, or Prefect runs the operation on a temporary server of its own (and
    times out starting it on a busy machine; found by ``benchmarks/dr_day.py``)."""
    pid = local_server.state()["pid"]
    world.seed(make_configmap("staged", server_fields=False))
    world.configure()

    result = local_server.run("stage", str(world.config_path), "--mapping", MAPPING, "--output", "json")

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["phase"] == "Completed"
    assert "temporary server" not in result.stderr, result.stderr[-3000:]
    assert local_server.server_pids() == [pid], "the command reused the server and left it running"
    kept = local_server.api("/flow_runs/filter", {"flow_runs": {"id": {"any_": [report["flowRunId"]]}}})
    assert [run["id"] for run in kept] == [report["flowRunId"]], "the stage run is kept on the local server"


def test_a_server_killed_mid_run_fails_the_run_clearly_and_the_next_command_replaces_it(
    local_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.seed(*(make_configmap(f"slow-{index}", server_fields=False) for index in range(20)))
    world.configure()
    world.dr.faults.add(method="PATCH", latency=1.0, times=None)  # a 20 s sync: time to crash mid-run
    crashed = local_server.state()["pid"]
    sync = subprocess.Popen(
        [DRSYNCER, "sync", str(world.config_path), "--mapping", MAPPING, "--output", "json"],
        env=local_server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = {"flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}}}
    poll(lambda: bool(local_server.api("/flow_runs/filter", running)), timeout=120, interval=0.5)
    runs_before = [run["id"] for run in local_server.api("/flow_runs/filter", {})]

    os.kill(crashed, signal.SIGKILL)
    killed_at = time.monotonic()
    _, stderr = sync.communicate(timeout=120)

    assert sync.returncode == 1, stderr[-3000:]
    assert time.monotonic() - killed_at < 30, "the command fails at once, not after minutes of retries"
    last_line = stderr.strip().splitlines()[-1]
    lost = f"error: lost the Prefect API: dr-syncer's local Prefect server (pid {crashed}, "
    assert last_line.startswith(lost), last_line
    assert "run the command again" in last_line
    assert crashed not in local_server.server_pids()
    status = local_server.run("server", "status")
    assert status.returncode == 3
    assert "not running" in status.stdout

    started = local_server.run("server", "start")

    assert started.returncode == 0, started.stderr
    replacement = local_server.state()["pid"]
    assert replacement != crashed
    assert local_server.server_pids() == [replacement]
    assert sorted(run["id"] for run in local_server.api("/flow_runs/filter", {})) == sorted(runs_before)


def test_a_server_without_requests_stops_by_itself_after_its_idle_timeout(local_server: LocalServer) -> None:
    stopped = local_server.run("server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert local_server.server_pids() == []

    started = local_server.run("server", "start", DRSYNCER_SERVER_IDLE_TIMEOUT="6")
    assert started.returncode == 0, started.stderr
    pid = local_server.state()["pid"]

    poll(lambda: pid not in local_server.server_pids(), timeout=90, interval=0.5)
    assert not (local_server.data_dir / "server.json").exists()
    assert "idle for 6 s: stopping" in (local_server.data_dir / "server.log").read_text()


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = _environment(tmp_path / "data", port)

        result = subprocess.run(
            [DRSYNCER, "server", "start"], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken by another program" in result.stderr
    assert "DRSYNCER_SERVER_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "server.json").exists()


def test_a_database_from_a_newer_prefect_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "prefect.db") as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('ffffffffffff')")

    result = subprocess.run(
        [DRSYNCER, "server", "start"],
        env=_environment(data_dir, _free_port()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "was written by a newer Prefect" in result.stderr
    assert "ffffffffffff" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_server_that_does_not_answer_in_time_names_its_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _environment(data_dir, _free_port(), DRSYNCER_PREFECT_STARTUP_TIMEOUT="1")

    result = subprocess.run(
        [DRSYNCER, "server", "start"], env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 1
    assert "did not answer within 1 s" in result.stderr
    assert str(data_dir / "server.log") in result.stderr
    assert "DRSYNCER_PREFECT_STARTUP_TIMEOUT" in result.stderr
    assert LocalServer(data_dir=data_dir, port=0, env=env).server_pids() == []
