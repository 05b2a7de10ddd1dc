"""Reading flow runs back from the Prefect REST API, and the pure checks the scale tier makes on them."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

TERMINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@dataclass(frozen=True)
class Run:
    """The parts of a flow run the tier checks."""

    id: str
    deployment_id: str | None
    state: str
    state_name: str
    expected_start: datetime | None
    start: datetime | None
    end: datetime | None
    infrastructure_pid: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Run:
        def when(key: str) -> datetime | None:
            return datetime.fromisoformat(data[key]) if data.get(key) else None

        return cls(
            id=str(data["id"]),
            deployment_id=data.get("deployment_id"),
            state=str(data.get("state_type") or ""),
            state_name=str(data.get("state_name") or ""),
            expected_start=when("expected_start_time"),
            start=when("start_time"),
            end=when("end_time"),
            infrastructure_pid=data.get("infrastructure_pid"),
        )

    @property
    def seconds(self) -> float | None:
        return (self.end - self.start).total_seconds() if self.start and self.end else None


class PrefectApi:
    """A few REST calls on one Prefect server."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=30)

    def deployment_id(self, qualified: str) -> str:
        response = self.http.get(f"/deployments/name/{qualified}")
        response.raise_for_status()
        return str(response.json()["id"])

    def trigger(self, deployment_id: str) -> str:
        response = self.http.post(f"/deployments/{deployment_id}/create_flow_run", json={})
        response.raise_for_status()
        return str(response.json()["id"])

    def runs(self, deployment_ids: Iterable[str], *, expected_before: datetime | None = None) -> list[Run]:
        """Every flow run of these deployments (paged), optionally only those expected to start no later
        than ``expected_before`` (not the runs the scheduler created ahead)."""
        runs: list[Run] = []
        offset = 0
        while True:
            body: dict[str, Any] = {
                "deployments": {"id": {"any_": list(deployment_ids)}},
                "limit": 200,
                "offset": offset,
                "sort": "EXPECTED_START_TIME_ASC",
            }
            if expected_before is not None:
                body["flow_runs"] = {"expected_start_time": {"before_": expected_before.isoformat()}}
            response = self.http.post("/flow_runs/filter", json=body)
            response.raise_for_status()
            page = response.json()
            runs.extend(Run.from_api(item) for item in page)
            if len(page) < 200:
                return runs
            offset += 200

    def run(self, run_id: str) -> Run:
        response = self.http.get(f"/flow_runs/{run_id}")
        response.raise_for_status()
        return Run.from_api(response.json())

    def states(self, run_id: str) -> list[dict[str, Any]]:
        """The states the run went through (API objects), oldest first."""
        response = self.http.get("/flow_run_states/", params={"flow_run_id": run_id})
        response.raise_for_status()
        states: list[dict[str, Any]] = response.json()
        return sorted(states, key=lambda state: datetime.fromisoformat(str(state["timestamp"])))

    def state_history(self, run_id: str) -> list[str]:
        """The state types the run went through, oldest first."""
        return [str(state["type"]) for state in self.states(run_id)]

    def reached_running(self, run_id: str) -> bool:
        """Whether the run ever started (a keep-alive run cancelled while waiting never does)."""
        return "RUNNING" in self.state_history(run_id)

    def task_run_count(self, run_id: str) -> int:
        response = self.http.post("/task_runs/count", json={"flow_runs": {"id": {"any_": [run_id]}}})
        response.raise_for_status()
        return int(response.json())

    def set_paused(self, deployment_id: str, *, paused: bool) -> None:
        self.http.patch(f"/deployments/{deployment_id}", json={"paused": paused}).raise_for_status()

    def cancel(self, run_id: str) -> None:
        body = {"state": {"type": "CANCELLING", "name": "Cancelling"}, "force": True}
        self.http.post(f"/flow_runs/{run_id}/set_state", json=body).raise_for_status()

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        body = {"artifacts": {"flow_run_id": {"any_": [run_id]}, "type": {"any_": ["table"]}}}
        response = self.http.post("/artifacts/filter", json=body)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 1.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def overlaps(runs: Sequence[Run]) -> list[tuple[str, str]]:
    """Pairs of runs (by id) whose start..end intervals overlap."""
    timed = sorted((run for run in runs if run.start is not None), key=lambda run: run.start or datetime.min)
    found = []
    for earlier, later in itertools.pairwise(timed):
        if earlier.end is None or (later.start is not None and later.start < earlier.end):
            found.append((earlier.id, later.id))
    return found


def max_concurrent(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an interval ending exactly when another starts does not
    overlap it)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    # At equal times ends (-1) sort before starts (+1).
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak
