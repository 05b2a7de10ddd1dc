"""The steps of a DR operation as Prefect tasks: checkpoints that a retried flow run skips.

Every effectful step is **checkpointed**: its cache key is its inputs (without the live session),
its source and the flow run id (:data:`CHECKPOINT`), and its result is persisted to the result storage.
Retrying the same flow run (``drsyncer cutover --resume RUN`` or ``prefect flow-run retry``) finds the
result of each completed step and skips it ("Cached"); a failed step has no result and runs again. Each
call names its ``step`` so two phases never share a key (stopping the source and stopping DR are
different checkpoints). Results go to Prefect's result storage — local files under ``PREFECT_HOME`` by
default, readable by a retry in another process on the same machine; in production set
``PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK`` to shared storage (S3/GCS block) so a worker on another node
can resume.

Probes (wait until stopped or ready, the guard before starting a side) read live state and are never
cached: a retry always runs them again.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE

from drsyncer.errors import DrSyncerError
from tasks.dr.claim_retention import (
    claims_a_stage_would_delete,
    restore_claim_retention,
    retain_claims,
    statefulsets,
)
from tasks.dr.health import ProbeResult, running_pods, wait_ready, wait_stopped
from tasks.dr.operation_report import StepRecord, now_text
from tasks.dr.parking import park_side, unpark_side
from tasks.dr.schedules import cancel_sync_runs, pause_sync_deployments, resume_sync_deployments
from tasks.dr.staleness import default_max_staleness, staleness_problem, sync_history
from tasks.dr.workloads import Side, at_rest_problems, list_workloads, record_replicas, start_side, stop_side
from tasks.session import SyncSession

CHECKPOINT = (INPUTS - "session") + TASK_SOURCE + RUN_ID
"""Inputs (minus the live session) + task source + flow run id: stable across retries of one run."""


class StepFailedError(DrSyncerError):
    """A step of a DR operation did not do what it had to."""


def side_of(session: SyncSession, role: str) -> Side:
    """The ``source`` or ``dr`` side of the session's mapping."""
    mapping = session.mapping
    if role == "source":
        return Side(session.source, mapping.source_namespace, "source")
    return Side(session.destination, mapping.destination_namespace, "dr")


def _joined(*details: str) -> str:
    return "; ".join(detail for detail in details if detail)


def _record(step: str, started: str, **fields: Any) -> StepRecord:
    return StepRecord(step=step, started_at=started, finished_at=now_text(), **fields)


@task(name="dr-record-replicas", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def record_counts(session: SyncSession, role: str, step: str) -> StepRecord:
    """Record the side's replica counts in ``original-replicas``; the record carries the counts."""
    started = now_text()
    counts = record_replicas(side_of(session, role), session.mapping)
    detail = ", ".join(f"{ref}={count}" for ref, count in counts.items()) or "no scalable workloads"
    return _record(step, started, objects=len(counts), detail=detail, counts=counts)


@task(name="dr-stop-side", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def stop_workloads(session: SyncSession, role: str, step: str) -> StepRecord:
    """Scale the side to 0 (claims kept: ``whenScaled: Retain`` first), suspend CronJobs, park DaemonSets."""
    started = now_text()
    kept = retain_claims(side_of(session, role), session.mapping)  # before any scale-down
    change = stop_side(side_of(session, role), session.mapping)
    change.changes.update(park_side(side_of(session, role), session.mapping))
    detail = ", ".join(f"{ref}: {what}" for ref, what in change.changes.items() if what != "unchanged")
    return _record(step, started, objects=change.count, detail=_joined(detail, *kept) or "already at rest")


@task(name="dr-start-side", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def start_workloads(session: SyncSession, role: str, counts: dict[str, int], step: str) -> StepRecord:
    """Scale the side to ``counts`` (else its recorded counts), resume CronJobs, unpark DaemonSets."""
    started = now_text()
    change = start_side(side_of(session, role), session.mapping, counts)
    change.changes.update(unpark_side(side_of(session, role), session.mapping))
    restored = restore_claim_retention(side_of(session, role), session.mapping)  # a run that stopped early
    detail = ", ".join(f"{ref}: {what}" for ref, what in change.changes.items() if what != "unchanged")
    return _record(
        step, started, objects=change.count, detail=_joined(detail, *restored) or "nothing to start"
    )


def _probe_record(step: str, started: str, result: ProbeResult) -> StepRecord:
    detail = ", ".join(f"{ref}: {state}" for ref, state in result.workloads.items())
    return _record(
        step,
        started,
        objects=len(result.workloads),
        detail=f"{detail or 'no workloads'} (after {result.waited_seconds:.1f} s)",
    )


@task(name="dr-wait-stopped", task_run_name="{step}", cache_policy=NO_CACHE)
def probe_stopped(session: SyncSession, role: str, timeout: float, step: str) -> StepRecord:
    """Wait (deadline ``timeout``) until no pod of the side's workloads is left, then put back the
    ``whenScaled`` the stop recorded (no pod: no claim can go). Never cached."""
    started = now_text()
    record = _probe_record(
        step, started, wait_stopped(side_of(session, role), session.mapping, timeout=timeout)
    )
    restored = restore_claim_retention(side_of(session, role), session.mapping)
    return dataclasses.replace(record, detail=_joined(record.detail, *restored))


@task(name="dr-wait-ready", task_run_name="{step}", cache_policy=NO_CACHE)
def probe_ready(session: SyncSession, role: str, timeout: float, step: str) -> StepRecord:
    """Wait (deadline ``timeout``) until every workload of the side is ready, per workload. Never cached."""
    started = now_text()
    return _probe_record(step, started, wait_ready(side_of(session, role), session.mapping, timeout=timeout))


@task(name="dr-guard-stopped", task_run_name="{step}", cache_policy=NO_CACHE)
def guard_stopped(session: SyncSession, role: str, step: str) -> StepRecord:
    """Refuse to go on while the ``role`` side still runs pods (never both sides up). Never cached."""
    started = now_text()
    running = running_pods(side_of(session, role), session.mapping)
    if running:
        detail = ", ".join(f"{ref}: {state}" for ref, state in running.items())
        raise StepFailedError(
            f"the {role} side still runs pods ({detail}); refusing to start the other side",
            fix=f"stop the {role} side first; the operation can then be resumed",
        )
    return _record(step, started, detail=f"{role} side has no running pods")


class RefusedError(DrSyncerError):
    """A safety check refused the operation; nothing was changed."""


@task(name="dr-guard-claims", task_run_name="{step}", cache_policy=NO_CACHE)
def guard_claims(session: SyncSession, step: str) -> StepRecord:
    """Refuse to stage over DR StatefulSets whose claims the stage would delete (claim_retention.py)."""
    started = now_text()
    at_risk = claims_a_stage_would_delete(
        statefulsets(side_of(session, "dr"), session.mapping),
        statefulsets(side_of(session, "source"), session.mapping),
        scale_to_zero=session.mapping.scale_to_zero,
    )
    if at_risk:
        detail = ", ".join(f"{ref}: {why}" for ref, why in at_risk.items())
        raise RefusedError(
            f"staging would scale DR StatefulSets to 0 whose claims go with their pods ({detail}); "
            "the data written in DR would be deleted",
            fix="run `drsyncer failback` to copy DR's data back first; if DR's data is not needed, "
            "scale those StatefulSets to 0 in DR yourself and stage again",
        )
    return _record(step, started, detail="no running DR StatefulSet would lose its claims")


@task(name="dr-check-staleness", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def check_staleness(
    session: SyncSession, max_staleness_seconds: float | None, force: bool, step: str
) -> StepRecord:
    """Refuse (unless ``force``) when the DR copy is stale or its last data sync failed."""
    started = now_text()
    now = datetime.now(UTC)
    limit = (
        timedelta(seconds=max_staleness_seconds)
        if max_staleness_seconds is not None
        else default_max_staleness(session.mapping, now=now)
    )
    history = sync_history(session.mapping)
    problem = staleness_problem(history, now=now, max_staleness=limit)
    if problem is None:
        detail = (
            f"last completed sync {history.last_success_run} at {history.last_success:%Y-%m-%dT%H:%M:%SZ}"
        )
        return _record(step, started, detail=detail)
    if force:
        return _record(step, started, outcome="done", detail=f"forced past: {problem}")
    raise RefusedError(
        problem, fix="run `drsyncer stage` (or a sync) first, or pass --force to cut over anyway"
    )


@task(name="dr-verify-at-rest", task_run_name="{step}", cache_policy=NO_CACHE)
def verify_at_rest(session: SyncSession, step: str) -> StepRecord:
    """Check every DR workload is at rest (0 or its override, CronJobs suspended, DaemonSets parked)."""
    started = now_text()
    workloads = list_workloads(side_of(session, "dr"), session.mapping)
    problems = at_rest_problems(workloads)
    if problems:
        detail = ", ".join(f"{ref}: {what}" for ref, what in problems.items())
        raise StepFailedError(f"DR workloads are not at rest after the sync: {detail}")
    return _record(step, started, objects=len(workloads), detail="every DR workload at rest")


@task(name="dr-pause-syncs", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def pause_syncs(session: SyncSession, step: str) -> StepRecord:
    """Pause the mapping's sync deployments and cancel their runs (a sync would undo the cutover)."""
    started = now_text()
    paused = pause_sync_deployments(session.mapping)
    cancelled = cancel_sync_runs(session.mapping, keep=_own_runs())
    detail = f"paused {', '.join(paused)}" if paused else "no running sync deployment"
    if cancelled:
        detail += f"; cancelled {', '.join(cancelled)}"
    return _record(step, started, objects=len(paused), detail=detail)


def _own_runs() -> frozenset[str]:
    """This flow run's id: an operation never cancels itself, whatever deployment started it."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return frozenset()
    return frozenset({str(context.flow_run.id)})


@task(name="dr-resume-syncs", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def resume_syncs(session: SyncSession, step: str) -> StepRecord:
    """Resume the mapping's paused sync deployments (DR is a standby copy again)."""
    started = now_text()
    resumed = resume_sync_deployments(session.mapping)
    detail = f"resumed {', '.join(resumed)}" if resumed else "no paused sync deployment"
    return _record(step, started, objects=len(resumed), detail=detail)
