"""What each mapping's deployment has been doing, read from the Prefect API (``drsyncer status``).

Per deployment: whether it is paused, its last run (state, time, message), its next scheduled run, its last
error (the latest failed or crashed run's message) and what the last finished sync moved — objects per
outcome and PVC bytes — taken from the run's markdown report artifact (see
:meth:`drsyncer.report.SyncReport.to_markdown`), since results are not persisted by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

COUNT_HEADER = re.compile(r"^\|\s*created\s*\|\s*updated\s*\|")
PVC_HEADER = re.compile(r"^\|\s*PVC\s*\|\s*status\s*\|\s*bytes\s*\|")


@dataclass
class MappingStatus:
    """One deployment's status."""

    deployment: str
    mapping: str
    paused: bool = False
    schedule: str | None = None
    last_run: str | None = None
    last_state: str | None = None
    last_run_time: datetime | None = None
    last_message: str = ""
    next_run_time: datetime | None = None
    last_error: str | None = None
    last_error_time: datetime | None = None
    objects: dict[str, int] = field(default_factory=dict)
    bytes_synced: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (``--output json``)."""
        return {
            "deployment": self.deployment,
            "mapping": self.mapping,
            "paused": self.paused,
            "schedule": self.schedule,
            "lastRun": self.last_run,
            "lastState": self.last_state,
            "lastRunTime": _iso(self.last_run_time),
            "nextRunTime": _iso(self.next_run_time),
            "lastError": self.last_error,
            "lastErrorTime": _iso(self.last_error_time),
            "objects": self.objects,
            "bytesSynced": self.bytes_synced,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def summary_from_markdown(markdown: str) -> tuple[dict[str, int], int | None]:
    """Object counts and PVC bytes from a sync report's markdown (empty and None when absent)."""
    lines = [line.strip() for line in markdown.splitlines()]
    counts: dict[str, int] = {}
    total_bytes: int | None = None
    for index, line in enumerate(lines):
        if COUNT_HEADER.match(line) and index + 2 < len(lines):
            names = [cell.strip() for cell in line.strip("|").split("|")]
            values = [cell.strip() for cell in lines[index + 2].strip("|").split("|")]
            counts = {name: int(value) for name, value in zip(names, values, strict=False) if value.isdigit()}
        if PVC_HEADER.match(line):
            total_bytes = 0
            for row in lines[index + 2 :]:
                if not row.startswith("|"):
                    break
                cells = [cell.strip() for cell in row.strip("|").split("|")]
                if len(cells) > 2 and cells[2].isdigit():
                    total_bytes += int(cells[2])
    return counts, total_bytes


def read_statuses(deployment_names: list[tuple[str, str]] | None = None) -> list[MappingStatus]:
    """Status of the given ``(flow/deployment, mapping)`` pairs, or of every dr-syncer deployment."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    statuses = []
    with get_client(sync_client=True) as client:
        if deployment_names is None:
            deployment_names = _all_mapping_deployments(client)
        for qualified, mapping in deployment_names:
            try:
                deployment = client.read_deployment_by_name(qualified)
            except ObjectNotFound:
                statuses.append(
                    MappingStatus(deployment=qualified, mapping=mapping, last_state="NOT_DEPLOYED")
                )
                continue
            statuses.append(_status_of(client, deployment, qualified, mapping))
    return statuses


def _all_mapping_deployments(client: Any) -> list[tuple[str, str]]:
    pairs = []
    for deployment in client.read_deployments():
        mapping = next((tag.partition(":")[2] for tag in deployment.tags if tag.startswith("mapping:")), None)
        if mapping is None:
            continue
        flow = client.read_flow(deployment.flow_id)
        pairs.append((f"{flow.name}/{deployment.name}", mapping))
    return sorted(pairs)


def _status_of(client: Any, deployment: Any, qualified: str, mapping: str) -> MappingStatus:
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterType,
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
    status = MappingStatus(deployment=qualified, mapping=mapping, paused=bool(deployment.paused))
    schedules = getattr(deployment, "schedules", None) or []
    status.schedule = ", ".join(_schedule_text(s.schedule) for s in schedules) or None

    def runs(states: list[StateType] | None, sort: FlowRunSort, *, started: bool = False) -> list[Any]:
        flow_run_filter = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states)) if states else None,
            start_time=FlowRunFilterStartTime(is_null_=False) if started else None,
        )
        result: list[Any] = client.read_flow_runs(
            deployment_filter=by_deployment, flow_run_filter=flow_run_filter, sort=sort, limit=1
        )
        return result

    last = runs(None, FlowRunSort.START_TIME_DESC, started=True)
    if last:
        run = last[0]
        status.last_run = run.name
        status.last_state = run.state.name if run.state else None
        status.last_run_time = run.end_time or run.start_time
        status.last_message = (run.state.message or "") if run.state else ""
    upcoming = runs([StateType.SCHEDULED], FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC)
    if upcoming:
        status.next_run_time = upcoming[0].next_scheduled_start_time or upcoming[0].expected_start_time
    failed = runs([StateType.FAILED, StateType.CRASHED], FlowRunSort.START_TIME_DESC)
    if failed:
        status.last_error = (failed[0].state.message if failed[0].state else None) or "failed"
        status.last_error_time = failed[0].end_time or failed[0].start_time
    finished = runs([StateType.COMPLETED, StateType.FAILED], FlowRunSort.START_TIME_DESC)
    if finished:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[finished[0].id]),
                type=ArtifactFilterType(any_=["markdown"]),
            )
        )
        for artifact in artifacts:
            counts, total_bytes = summary_from_markdown(str(artifact.data or ""))
            if counts:
                status.objects, status.bytes_synced = counts, total_bytes
                break
    return status


def _schedule_text(schedule: Any) -> str:
    cron = getattr(schedule, "cron", None)
    if cron:
        return f"cron {cron} ({getattr(schedule, 'timezone', None) or 'UTC'})"
    interval = getattr(schedule, "interval", None)
    if interval:
        return f"every {interval}"
    return str(schedule)
