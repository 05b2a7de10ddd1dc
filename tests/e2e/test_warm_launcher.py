"""The warm process as users meet it: real ``drsyncer`` commands, a real local server, real forks.

A command that uses the local Prefect server leaves a warm process behind; later heavy commands run in
its children. The contract: never a different result — same output and exit codes as a cold run, the
caller's working directory and environment (``PREFECT_API_URL`` included) honoured, Ctrl-C forwarded —
and any trouble (a killed warm process, one from other code) falls back to a cold run that replaces it.

One local server for the module (its own data directory and port), as in ``test_local_server.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drsyncer.warm_protocol import code_version
from drsyncer.warm_start import answers
from tests.api.sync.conftest import MAPPING, SyncWorld, poll
from tests.e2e.test_cli_sync import world  # noqa: F401  (the two-cluster CLI world, reused)
from tests.e2e.test_local_server import DRSYNCER, LocalServer, _environment, _free_port
from tests.factories import make_configmap, make_service


@pytest.fixture(scope="module")
def warm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The module's local server (started by the first command); stopped with ``server stop``."""
    root = tmp_path_factory.mktemp("warm")
    data_dir = root / "data"
    port = _free_port()
    server = LocalServer(data_dir=data_dir, port=port, env=_environment(data_dir, port))
    yield server
    server.run("server", "stop")
    for pid in server.server_pids():
        os.kill(pid, signal.SIGTERM)


def _warm_pid(server: LocalServer) -> int | None:
    """The pid of the warm process listening for this data directory (from its log), if any answers."""
    if not answers(server.data_dir / "warm.sock", code_version()):
        return None
    lines = [line for line in _log(server).splitlines() if " listening on " in line]
    return int(lines[-1].split("[")[1].split("]")[0]) if lines else None


def _log(server: LocalServer) -> str:
    log = server.data_dir / "warm.log"
    return log.read_text() if log.exists() else ""


def _children_run(server: LocalServer) -> int:
    return _log(server).count("] child ")


def _warm_ready(server: LocalServer, config: Path) -> int:
    """Make sure a warm process of the current code listens (a cold command starts one); its pid."""
    if _warm_pid(server) is None:  # then this command runs cold, and starts one for the next commands
        result = server.run("sync", str(config), "--mapping", MAPPING, "--output", "json")
        assert result.returncode in (0, 1), result.stderr[-3000:]
    poll(lambda: _warm_pid(server) is not None, timeout=120, interval=0.2)
    pid = _warm_pid(server)
    assert pid is not None
    return pid


def _run_warm(server: LocalServer, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``drsyncer ARGS`` through the warm process; asserts it ran in a warm child (retried once if the
    shared source tree changed meanwhile and the warm process refused it as other code)."""
    for _ in range(2):
        _warm_ready(server, config)
        before = _children_run(server)
        result = server.run(*args)
        if _children_run(server) == before + 1:
            return result
    raise AssertionError(f"the command never ran in a warm child; warm.log:\n{_log(server)[-3000:]}")


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{api.rstrip('/')}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _sync_runs(api: Callable[[str, dict[str, Any]], Any]) -> int:
    """How many sync runs of the mapping a Prefect API recorded."""
    return int(api("/flow_runs/count", {"flow_runs": {"name": {"like_": f"{MAPPING}-"}}}))


def _comparable(stdout: str) -> Any:
    document = json.loads(stdout)
    for timing in ("durationSeconds", "startedAt", "finishedAt"):
        document.pop(timing, None)
    return document


def test_a_warm_sync_prints_what_a_cold_one_prints(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.seed(make_configmap("settings", server_fields=False))
    world.configure()
    config = world.config_path
    _warm_ready(warm_server, config)

    cold = warm_server.run("sync", str(config), "--mapping", MAPPING, "--output", "json", DRSYNCER_WARM="0")
    warm = _run_warm(warm_server, config, "sync", str(config), "--mapping", MAPPING, "--output", "json")

    assert (warm.returncode, cold.returncode) == (0, 0), warm.stderr[-3000:]
    assert _comparable(warm.stdout) == _comparable(cold.stdout)
    assert _comparable(warm.stdout)["counts"]["unchanged"] >= 1
    plan_cold = warm_server.run("plan", str(config), "--mapping", MAPPING, DRSYNCER_WARM="0")
    plan_warm = _run_warm(warm_server, config, "plan", str(config), "--mapping", MAPPING)
    assert (plan_warm.returncode, plan_warm.stdout) == (plan_cold.returncode, plan_cold.stdout)


def test_a_warm_command_runs_in_the_callers_directory_with_the_callers_environment(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
    prefect_server: str,
) -> None:
    world.seed(make_configmap("settings", server_fields=False))
    world.configure()
    _warm_ready(warm_server, world.config_path)
    relative = os.path.relpath(world.config_path, world.config_path.parent.parent)
    caller = {**warm_server.env, "PREFECT_API_URL": prefect_server}
    children = _children_run(warm_server)
    on_local_before = _sync_runs(warm_server.api)
    on_callers_before = _sync_runs(lambda path, body: _post(prefect_server, path, body))

    result = subprocess.run(
        [DRSYNCER, "sync", relative, "--mapping", MAPPING, "--output", "json"],
        cwd=world.config_path.parent.parent,
        env=caller,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["phase"] == "Completed"
    assert _children_run(warm_server) == children + 1, "it ran in a warm child"
    assert _sync_runs(lambda path, body: _post(prefect_server, path, body)) == on_callers_before + 1
    assert _sync_runs(warm_server.api) == on_local_before, "the caller's PREFECT_API_URL won"


def test_exit_codes_pass_through_the_warm_process(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.dr.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "squat"}})
    world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": "squat"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30410}]},
        }
    )
    world.seed(
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30410, server_fields=False)
    )
    world.configure()
    config = str(world.config_path)

    failed = _run_warm(
        warm_server, world.config_path, "sync", config, "--mapping", MAPPING, "--output", "json"
    )
    missing = _run_warm(warm_server, world.config_path, "sync", config, "--mapping", "no-such-mapping")

    assert failed.returncode == 1, failed.stderr[-3000:]
    assert json.loads(failed.stdout)["counts"]["failed"] == 1
    cold_missing = warm_server.run("sync", config, "--mapping", "no-such-mapping", DRSYNCER_WARM="0")
    assert missing.returncode == cold_missing.returncode == 2
    assert missing.stderr == cold_missing.stderr


def test_ctrl_c_reaches_the_warm_child(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.seed(*(make_configmap(f"slow-{index}", server_fields=False) for index in range(20)))
    world.configure()
    world.dr.faults.add(method="PATCH", latency=1.0, times=None)  # a 20 s sync: time to interrupt it
    _warm_ready(warm_server, world.config_path)
    before = _children_run(warm_server)
    sync = subprocess.Popen(
        [DRSYNCER, "sync", str(world.config_path), "--mapping", MAPPING, "--output", "json"],
        env=warm_server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = {"flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}}}
    poll(lambda: bool(warm_server.api("/flow_runs/filter", running)), timeout=120, interval=0.2)

    sync.send_signal(signal.SIGINT)
    _, stderr = sync.communicate(timeout=120)

    assert sync.returncode == 130, stderr[-3000:]
    assert _children_run(warm_server) == before + 1, "the command ran in a warm child, which ended"
    assert ": exit 130," in _log(warm_server).splitlines()[-1], "the child ended by the forwarded SIGINT"
    poll(lambda: not warm_server.api("/flow_runs/filter", running), timeout=60, interval=0.2)


def test_a_killed_warm_process_falls_back_and_is_replaced(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.seed(make_configmap("settings", server_fields=False))
    world.configure()
    killed = _warm_ready(warm_server, world.config_path)
    os.kill(killed, signal.SIGKILL)
    poll(lambda: _warm_pid(warm_server) is None, timeout=30, interval=0.1)

    result = warm_server.run("sync", str(world.config_path), "--mapping", MAPPING, "--output", "json")

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["phase"] == "Completed"
    poll(lambda: _warm_pid(warm_server) not in (None, killed), timeout=120, interval=0.2)


def test_a_warm_process_of_other_code_refuses_stops_and_is_replaced(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.seed(make_configmap("settings", server_fields=False))
    world.configure()
    stale = _warm_ready(warm_server, world.config_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as launcher:  # a launcher from an upgraded tree
        launcher.connect(str(warm_server.data_dir / "warm.sock"))
        request = {"version": "other", "argv": ["drsyncer", "status"], "cwd": "/", "umask": 18, "env": {}}
        socket.send_fds(launcher, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reply = json.loads(launcher.makefile().readline())

    assert reply == {"refused": "another code version"}
    poll(lambda: not Path(f"/proc/{stale}").exists(), timeout=30, interval=0.1)
    result = warm_server.run("sync", str(world.config_path), "--mapping", MAPPING, "--output", "json")
    assert result.returncode == 0, result.stderr[-3000:]
    poll(lambda: _warm_pid(warm_server) not in (None, stale), timeout=120, interval=0.2)


def test_the_warm_process_stops_with_the_local_server(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.configure()
    pid = _warm_ready(warm_server, world.config_path)

    stopped = warm_server.run("server", "stop")

    assert stopped.returncode == 0, stopped.stderr
    poll(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, interval=0.1)
    assert not (warm_server.data_dir / "warm.sock").exists()


def test_a_warm_command_logs_at_the_callers_level(
    warm_server: LocalServer,
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
) -> None:
    world.seed(make_configmap("settings", server_fields=False))
    world.configure()
    config = str(world.config_path)

    quiet = _run_warm(warm_server, world.config_path, "sync", config, "--mapping", MAPPING, "-o", "json")
    warm_server.env["DRSYNCER_LOG_LEVEL"] = "INFO"
    try:
        chatty = _run_warm(warm_server, world.config_path, "sync", config, "--mapping", MAPPING, "-o", "json")
    finally:
        del warm_server.env["DRSYNCER_LOG_LEVEL"]

    assert (quiet.returncode, chatty.returncode) == (0, 0), chatty.stderr[-3000:]
    assert "Beginning flow run" not in quiet.stderr
    assert "Beginning flow run" in chatty.stderr, chatty.stderr[-3000:]
