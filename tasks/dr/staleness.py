"""Is the DR copy fresh enough to cut over to?

The last sync is read from the Prefect API, not from the DR objects: DR copies carry no bookkeeping
beyond the two workload annotations (design §4.3), while every sync is a flow run. The runs that count are
the finished runs of the ``namespace-sync`` flow (scheduled, manual or ``drsyncer sync``) and of the
``dr-stage`` flow whose ``mapping`` parameter names the mapping. A **Completed** run means its objects and
its PVC data all synced; its end time is "the last sync".

A cutover is refused (unless forced) when:

- no sync of the mapping ever completed;
- the last completed sync is older than the threshold — ``--max-staleness``, else twice the interval of
  the mapping's schedule; a Manual mapping has no interval, so only an explicit ``--max-staleness`` limits
  it;
- the most recent finished sync failed on PVC data (its failure message names a PVC).

:func:`staleness_problem` is the pure decision; :func:`sync_history` reads the Prefect API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from drsyncer.config.effective import EffectiveMapping

SYNC_FLOWS = ("namespace-sync", "dr-stage")
"""Flows whose completed runs refresh the DR copy."""
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class SyncHistory:
    """What the Prefect API knows about a mapping's recent syncs."""

    last_success: datetime | None = None
    last_success_run: str = ""
    last_finished_run: str = ""
    last_finished_failed_data: bool = False
    last_finished_message: str = ""


def schedule_interval(schedule: str | None, *, now: datetime) -> timedelta | None:
    """The time between two runs of a cron ``schedule`` after ``now`` (``None`` without a schedule)."""
    if not schedule:
        return None
    runs = croniter(schedule, now)
    first: datetime = runs.get_next(datetime)
    second: datetime = runs.get_next(datetime)
    return second - first


def default_max_staleness(mapping: EffectiveMapping, *, now: datetime) -> timedelta | None:
    """Twice the mapping's schedule interval; ``None`` (no limit) for a Manual mapping."""
    interval = schedule_interval(mapping.schedule if str(mapping.mode) != "Manual" else None, now=now)
    return None if interval is None else interval * 2


def staleness_problem(history: SyncHistory, *, now: datetime, max_staleness: timedelta | None) -> str | None:
    """Why the DR copy must not be cut over to, or ``None`` when it is fresh enough."""
    if history.last_finished_failed_data:
        return (
            f"the last sync ({history.last_finished_run}) failed to copy PVC data: "
            f"{history.last_finished_message}"
        )
    if history.last_success is None:
        return "no sync of this mapping ever completed, so the DR copy may be missing or partial"
    age = now - history.last_success
    if max_staleness is not None and age > max_staleness:
        return (
            f"the DR copy is stale: the last completed sync ({history.last_success_run}) finished "
            f"{_human(age)} ago, more than the allowed {_human(max_staleness)}"
        )
    return None


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _names_mapping(parameters: dict[str, object], mapping: EffectiveMapping) -> bool:
    return parameters.get("mapping") in (mapping.name, mapping.key) and not parameters.get("plan_only")


def sync_history(mapping: EffectiveMapping) -> SyncHistory:
    """Read the mapping's recent sync runs from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(SYNC_FLOWS))),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(
                        any_=[StateType.COMPLETED, StateType.FAILED, StateType.CRASHED]
                    )
                )
            ),
            sort=FlowRunSort.END_TIME_DESC,
            limit=HISTORY_LIMIT,
        )
    mine = [run for run in runs if _names_mapping(dict(run.parameters), mapping) and run.end_time]
    if not mine:
        return SyncHistory()
    latest = mine[0]
    message = (latest.state.message or "") if latest.state else ""
    latest_failed = latest.state is not None and not latest.state.is_completed()
    success = next((run for run in mine if run.state is not None and run.state.is_completed()), None)
    return SyncHistory(
        last_success=success.end_time.astimezone(UTC) if success and success.end_time else None,
        last_success_run=success.name if success else "",
        last_finished_run=latest.name,
        last_finished_failed_data=latest_failed and "PVC " in message,
        last_finished_message=message,
    )
