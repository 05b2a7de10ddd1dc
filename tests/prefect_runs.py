"""Reading what a Prefect server recorded about a run, over its REST API, as the Prefect UI does.

Shared by the e2e run-log tests and the browser tests: flow runs by name, their logs, task runs and
artifacts. Logs arrive in batches after a run ends, so :func:`wait_for_logs` polls with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{api.rstrip('/')}/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def flow_runs(api: str, *, name_like: str) -> list[dict[str, Any]]:
    """Flow runs whose name contains ``name_like``, oldest first."""
    body = {"flow_runs": {"name": {"like_": name_like}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 50}
    return list(_post(api, "flow_runs/filter", body))


def only_flow_run(api: str, *, name_like: str) -> dict[str, Any]:
    """The one flow run whose name contains ``name_like``."""
    runs = flow_runs(api, name_like=name_like)
    assert len(runs) == 1, [run["name"] for run in runs]
    return runs[0]


def run_logs(api: str, flow_run_id: str) -> list[dict[str, Any]]:
    """Every log record of a flow run (its tasks' included), in order."""
    logs: list[dict[str, Any]] = []
    while True:
        body = {
            "logs": {"flow_run_id": {"any_": [flow_run_id]}},
            "sort": "TIMESTAMP_ASC",
            "limit": 200,
            "offset": len(logs),
        }
        page = list(_post(api, "logs/filter", body))
        logs += page
        if len(page) < 200:
            return logs


def wait_for_logs(
    api: str, flow_run_id: str, *, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The run's logs once ``until(logs)`` holds (they are sent in batches); fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        logs = run_logs(api, flow_run_id)
        if until(logs):
            return logs
        if time.monotonic() > deadline:
            messages = [log["message"] for log in logs]
            raise AssertionError(f"logs of {flow_run_id} never met the condition; got {messages}")
        time.sleep(0.2)


def task_runs(api: str, flow_run_id: str) -> list[dict[str, Any]]:
    """The task runs of a flow run."""
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
    return list(_post(api, "task_runs/filter", body))


def artifacts(api: str, flow_run_id: str) -> list[dict[str, Any]]:
    """The artifacts a flow run created."""
    body = {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
    return list(_post(api, "artifacts/filter", body))
