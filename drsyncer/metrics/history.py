"""Finished sync runs of a mapping and their run records, read from the Prefect API.

The exporter and ``drsyncer status`` read history here, so they see every sync whichever process ran it
(``serve``, a Prefect worker, ``drsyncer sync``, a cluster-sync or continuous parent flow): all of them
are ``namespace-sync`` flow runs whose ``mapping`` parameter names the mapping (plans are left out).

Per refresh and mapping this is one flow-run query (the latest :data:`RUNS_PER_READ` finished runs whose
name mentions the mapping, checked against the run's parameters) and one artifact query for the records
of runs not seen before. Nothing here writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drsyncer.config.effective import EffectiveMapping
from drsyncer.metrics.run_record import RECORD_DESCRIPTION, RunRecord, parse_artifact_data
from drsyncer.metrics.state import FinishedRun

SYNC_FLOW = "namespace-sync"
DATA_FLOW = "pvc-data-sync"
"""Continuous mode's data cadence: data-only runs (parameter ``mapping_key``), counted with a record."""
RUNS_PER_READ = 50
"""Finished runs read per mapping and refresh (more than can finish between two refreshes)."""
FINISHED_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


@dataclass(frozen=True)
class DeploymentInfo:
    """What a mapping's deployment says: paused, and when it runs next."""

    paused: bool
    next_run: datetime | None


def run_names(mapping: EffectiveMapping) -> tuple[str, ...]:
    """The ``mapping`` parameter values that name ``mapping`` (its name, and ``namespace/name``)."""
    return (mapping.name, mapping.key)


def is_run_of(parameters: dict[str, Any], names: Collection[str]) -> bool:
    """True when a namespace-sync run with these parameters synced the mapping ``names`` name (not a plan)."""
    if parameters.get("plan_only"):
        return False
    return parameters.get("mapping") in names or parameters.get("mapping_key") in names


def read_finished_runs(
    client: Any, names: Collection[str], *, known: Collection[str] = ()
) -> list[FinishedRun]:
    """The latest finished sync runs of the mapping called ``names``, oldest first.

    ``names`` are the ``mapping`` parameter values that name it (:func:`run_names`); run records are read
    only for runs not in ``known``.
    """
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[SYNC_FLOW, DATA_FLOW])),
        flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(like_=min(names, key=len).replace("/", "-")),
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType(state) for state in FINISHED_STATES])
            ),
        ),
        sort=FlowRunSort.END_TIME_DESC,
        limit=RUNS_PER_READ,
    )
    ours = [run for run in runs if run.state is not None and is_run_of(dict(run.parameters or {}), names)]
    records = read_records(client, [str(run.id) for run in ours if str(run.id) not in known])
    # A data-only run says nothing about objects: without its record (crashed, older versions) it is left out.
    ours = [
        run
        for run in ours
        if "mapping_key" not in (run.parameters or {}) or str(run.id) in known or str(run.id) in records
    ]
    finished = [
        FinishedRun(
            run_id=str(run.id),
            state_type=run.state.type.value,
            start=run.start_time.timestamp() if run.start_time else None,
            end=(run.end_time or run.start_time or run.expected_start_time or run.created).timestamp(),
            message=run.state.message or "",
            record=records.get(str(run.id)),
        )
        for run in ours
    ]
    return sorted(finished, key=lambda run: run.end)


def read_records(client: Any, run_ids: list[str]) -> dict[str, RunRecord]:
    """Run id → its run record, for the runs among ``run_ids`` that published one."""
    if not run_ids:
        return {}
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType

    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(run_id) for run_id in run_ids]),
            type=ArtifactFilterType(any_=["table"]),
        )
    )
    records: dict[str, RunRecord] = {}
    for artifact in artifacts:
        if artifact.description != RECORD_DESCRIPTION or artifact.flow_run_id is None:
            continue
        record = parse_artifact_data(artifact.data)
        if record is not None:
            records[str(artifact.flow_run_id)] = record
    return records


def read_deployment(client: Any, qualified: str) -> DeploymentInfo | None:
    """``flow/deployment``'s paused flag and next scheduled run; None when it is not deployed."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.exceptions import ObjectNotFound

    try:
        deployment = client.read_deployment_by_name(qualified)
    except ObjectNotFound:
        return None
    upcoming = client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
        ),
        sort=FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC,
        limit=1,
    )
    next_run = None
    if upcoming:
        next_run = upcoming[0].next_scheduled_start_time or upcoming[0].expected_start_time
    return DeploymentInfo(paused=bool(deployment.paused), next_run=next_run)
