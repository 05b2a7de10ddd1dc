"""What a ``drsyncer sync`` leaves in Prefect beyond its run: the heartbeat crash detection needs, exactly
once, and no persisted results (object lists would cost storage and time on every run).

Real CLI subprocesses against the session's Prefect server; each gets its own ``PREFECT_HOME``, so its
local result storage (``$PREFECT_HOME/storage``) is its own.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.e2e.test_cli_sync import (
    _drsyncer,
    _json,
    world,  # noqa: F401  (the two-cluster CLI world, reused)
)
from tests.factories import make_configmap, make_deployment
from tests.prefect_runs import task_runs


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{api.rstrip('/')}/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _newest_sync_run(api: str) -> dict[str, Any]:
    body = {"flow_runs": {"name": {"like_": MAPPING}}, "sort": "START_TIME_DESC", "limit": 1}
    runs: list[dict[str, Any]] = _post(api, "flow_runs/filter", body)
    assert runs, "the sync recorded no flow run"
    return runs[0]


def _heartbeats(api: str, flow_run_id: str) -> list[dict[str, Any]]:
    body = {
        "filter": {
            "event": {"name": ["prefect.flow-run.heartbeat"]},
            "resource": {"id": [f"prefect.flow-run.{flow_run_id}"]},
        },
        "limit": 50,
    }
    return list(_post(api, "events/filter", body)["events"])


def _synced(two_clusters: SyncWorld, env: dict[str, str]) -> dict[str, Any]:
    two_clusters.seed(
        make_configmap("settings", server_fields=False), make_deployment("web", server_fields=False)
    )
    two_clusters.configure()
    config = str(two_clusters.config_path)
    result = _drsyncer(env, "sync", config, "--mapping", MAPPING, "--output", "json")
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = _json(result)
    assert report["phase"] == "Completed"
    return report


def test_a_cli_sync_sends_its_flow_run_heartbeat_exactly_once(
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
    prefect_api_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**prefect_api_env, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    started = time.monotonic()
    _synced(world, env)
    run = _newest_sync_run(env["PREFECT_API_URL"])

    deadline = time.monotonic() + 30  # events reach the server in batches after the command ends
    while not (beats := _heartbeats(env["PREFECT_API_URL"], run["id"])) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert run["state"]["type"] == "COMPLETED"
    assert len(beats) == 1, f"{len(beats)} heartbeats for a run of {time.monotonic() - started:.0f} s"
    related = {item["prefect.resource.role"]: item["prefect.resource.id"] for item in beats[0]["related"]}
    assert related["flow"] == f"prefect.flow.{run['flow_id']}"
    assert beats[0]["resource"]["prefect.resource.name"] == run["name"]


def test_a_cli_sync_persists_no_result(
    world: SyncWorld,  # noqa: F811  (the fixture imported above)
    prefect_api_env: dict[str, str],
    tmp_path: Path,
) -> None:
    home = tmp_path / "prefect-home"
    env = {**prefect_api_env, "PREFECT_HOME": str(home)}
    _synced(world, env)
    run = _newest_sync_run(env["PREFECT_API_URL"])

    tasks = task_runs(env["PREFECT_API_URL"], run["id"])
    assert {task["name"] for task in tasks} >= {"plan", "discover-configmaps"}
    persisted = [task["name"] for task in tasks if task["state"]["data"] is not None]
    assert persisted == [], "task results (object lists) were persisted"
    assert run["state"]["data"] is None, "the flow's report was persisted as a result"
    storage = home / "storage"
    assert not storage.exists() or not any(storage.iterdir()), sorted(p.name for p in storage.iterdir())
