"""DR operations as Prefect flows: ``stage``, ``cutover`` and ``failback`` of one mapping (design §7).

- **stage** — sync the objects (and, with ``migrate_pvc_data``, the PVC data) and check every DR workload
  is at rest: 0 replicas (or its scale-override), CronJobs suspended, DaemonSets parked. It refuses a
  DR StatefulSet that runs with ``whenScaled: Delete`` (putting it at rest would delete its claims).
- **cutover** — refuse a stale DR copy (unless forced) → approval (unless ``yes``) → record the source's
  replica counts → stop the source → wait until its pods are gone → final delta data copy → sync the
  objects → (guard: source still stopped) → start DR at the recorded counts → wait until DR is ready.
- **failback** — approval (unless ``yes``) → record DR's counts → stop DR → wait until its pods are gone →
  reverse delta data copy (DR → source; only what changed moves) → (guard: DR still stopped) → start the
  source at the counts recorded in its annotations → wait until ready → stage DR again.

The flows only orchestrate: each step is a task of :mod:`tasks.dr.dr_tasks` (or the two below that need
the sync and data stages of :mod:`flows`). Effectful steps are checkpoints, probes are not, so retrying a
failed run (:func:`retry_run`, ``drsyncer cutover --resume RUN``, or ``prefect flow-run retry RUN
--entrypoint flows/dr_operations.py:cutover``) skips what completed and re-runs the rest. The source and
DR are never started together: a side is only started after a guard saw the other side without pods.

Every run returns (as its state's data) and publishes (as a markdown artifact) an
:class:`~tasks.dr.operation_report.OperationReport`; its step table artifact is updated as each step
starts and completes (:mod:`flows.run_artifacts`). A failed run's report names the failed step, the state
of both sides, and the commands to resume or roll back.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.input import RunInput
from prefect.states import Cancelled, Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from drsyncer.config.effective import EffectiveMapping
from drsyncer.prefect_env import apply_run_log_levels
from flows.data_stage import shared_claims, sync_pvc_data
from flows.mapping_source import MappingSource, resolve_mapping
from flows.namespace_sync import publish_report, run_sync
from flows.run_artifacts import StepTable, artifact_key
from tasks.dr.dr_tasks import (
    CHECKPOINT,
    RefusedError,
    StepFailedError,
    check_staleness,
    guard_claims,
    guard_stopped,
    pause_syncs,
    probe_ready,
    probe_stopped,
    record_counts,
    resume_syncs,
    side_of,
    start_workloads,
    stop_workloads,
    verify_at_rest,
)
from tasks.dr.operation_report import OperationReport, StepRecord, now_text
from tasks.dr.restore_point_step import restore_from_points
from tasks.dr.workloads import side_state
from tasks.session import SyncSession, open_session

WORKERS = 4
APPROVAL_STEP = "approval"


class Approval(RunInput):
    """The input a paused cutover or failback waits for (Prefect UI form, or ``drsyncer resume``)."""

    approve: bool = Field(description="Go ahead with the operation (false rejects it).")
    approver: str = Field(default="", description="Who decided (for the report).")
    comment: str = Field(default="", description="Why (for the report).")


# --- the steps of each operation, shared by the flows and --dry-run ----------------------------


def operation_steps(
    operation: str, *, data: bool, approval: bool, staleness: bool = True, copy_back: bool = True
) -> list[tuple[str, str]]:
    """The steps ``operation`` will run, in order: ``(step, what it does)``."""
    if operation == "stage":
        steps = [("sync-objects", "sync every object to DR (workloads at rest)")]
        if data:
            steps.append(("copy-data", "copy PVC data source → DR"))
        return [*steps, ("verify-dr-at-rest", "check DR workloads: 0 or override, suspended, parked")]
    if operation == "cutover":
        steps = []
        if staleness:
            steps.append(("check-staleness", "refuse a stale DR copy or a failed last data sync"))
        if approval:
            steps.append((APPROVAL_STEP, "pause until approved (UI or `drsyncer resume RUN`)"))
        steps += [
            ("pause-syncs", "pause the mapping's sync deployments (a sync would undo the cutover)"),
            ("record-source-replicas", "write source counts into dr-syncer.io/original-replicas"),
            ("stop-source", "scale source to 0, suspend CronJobs, park DaemonSets"),
            ("wait-source-stopped", "wait until no source pod is left (deadline)"),
        ]
        if data:
            steps.append(("final-data", "final delta copy of PVC data source → DR"))
        steps += [
            ("sync-objects", "sync every object to DR"),
            ("guard-source-stopped", "check the source still runs no pods"),
            ("start-dr", "scale DR to the recorded counts, resume CronJobs, unpark DaemonSets"),
            ("wait-dr-ready", "wait until every DR workload is ready (deadline)"),
        ]
        return steps
    if operation == "failback":
        steps = [(APPROVAL_STEP, "pause until approved")] if approval else []
        steps += [
            ("record-dr-replicas", "write DR counts into dr-syncer.io/original-replicas"),
            ("stop-dr", "scale DR to 0, suspend CronJobs, park DaemonSets"),
            ("wait-dr-stopped", "wait until no DR pod is left (deadline)"),
        ]
        if data and copy_back:
            steps.append(("reverse-data", "delta copy of PVC data DR → source (only changes move)"))
        steps += [
            ("guard-dr-stopped", "check DR still runs no pods"),
            ("start-source", "scale the source to its recorded counts, resume, unpark"),
            ("wait-source-ready", "wait until every source workload is ready (deadline)"),
            ("stage-sync-objects", "stage DR again: sync objects (workloads at rest)"),
        ]
        if data:
            steps.append(("stage-copy-data", "stage DR again: copy PVC data source → DR"))
        return [
            *steps,
            ("verify-dr-at-rest", "check DR workloads are at rest"),
            ("resume-syncs", "resume the mapping's sync deployments"),
        ]
    raise ValueError(f"unknown operation {operation!r}")


# --- steps that need the sync and data stages -----------------------------------------------


def reverse_mapping(mapping: EffectiveMapping) -> EffectiveMapping:
    """``mapping`` with its roles swapped: DR is the source, the source the destination (failback data).

    The reversed copy uses the reverse key set, ``<dr>-to-<source>`` (``drsyncer keys generate`` makes
    it), so it no longer names the forward ClusterMapping.
    """
    return dataclasses.replace(
        mapping,
        source=mapping.destination,
        destination=mapping.source,
        source_namespace=mapping.destination_namespace,
        destination_namespace=mapping.source_namespace,
        cluster_mapping=None,
    )


@task(name="dr-copy-data", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def copy_data(session: SyncSession, direction: str, claims: list[str], step: str) -> StepRecord:
    """Copy the data of ``claims`` along ``session`` (``direction`` names it for the checkpoint key)."""
    started = now_text()
    outcomes = sync_pvc_data(session, claims)
    failed = [outcome for outcome in outcomes if outcome.status in ("failed", "held")]  # held: change guard
    if failed:
        raise StepFailedError(
            f"PVC data copy {direction} failed: "
            + "; ".join(f"PVC {outcome.name}: {outcome.error}" for outcome in failed)
        )
    return StepRecord(
        step=step,
        started_at=started,
        finished_at=now_text(),
        objects=len(outcomes),
        bytes=sum(outcome.bytes_transferred for outcome in outcomes),
        detail=", ".join(
            f"{o.name}: {o.bytes_transferred} bytes, {o.files_transferred} files" for o in outcomes
        )
        or "no PVCs",
    )


@task(name="dr-sync-objects", task_run_name="{step}", cache_policy=CHECKPOINT, persist_result=True)
def sync_objects(session: SyncSession, step: str) -> StepRecord:
    """Run the resource sync of the mapping (every stage of the sync flow); fail on any failed object."""
    started = now_text()
    report = run_sync(session.mapping, data=False)
    publish_report(report)
    if not report.succeeded:
        raise StepFailedError(f"sync of {report.mapping} failed: {report.failure_summary()}")
    counts = report.counts
    return StepRecord(
        step=step,
        started_at=started,
        finished_at=now_text(),
        objects=counts["created"] + counts["updated"] + counts["pruned"],
        bytes=sum(pvc.bytes_transferred for pvc in report.pvcs),
        detail=", ".join(f"{count} {key}" for key, count in counts.items() if count),
    )


# --- orchestration ---------------------------------------------------------------------------


@dataclasses.dataclass
class Operation:
    """One running operation: its session, its report and the facts its failure report needs."""

    name: str
    session: SyncSession
    report: OperationReport
    config: tuple[str, ...]
    stopped: list[str] = dataclasses.field(default_factory=list)
    """Roles stopped by this run (in this attempt or an earlier one)."""
    current: str = ""
    """The step running now (the failed one, when an error escapes)."""
    table: StepTable | None = None
    """The step table artifact, updated as steps start and complete."""

    def run(self, step_task: Any, *args: Any, session: SyncSession | None = None, step: str) -> StepRecord:
        """Run one step task, add its record to the report (``skipped`` when completed earlier)."""
        self.current = step
        self.publish_steps(running=step)
        state = step_task(session or self.session, *args, step=step, return_state=True)
        record: StepRecord = state.result()
        if state.name == "Cached":
            record = dataclasses.replace(record, outcome="skipped", detail=f"done earlier: {record.detail}")
        self.report.steps.append(record)
        self.publish_steps()
        get_run_logger().info("step %s: %s %s", step, record.outcome, record.detail)
        return record

    def publish_steps(self, *, running: str = "") -> None:
        """Show the steps so far (and the one ``running``) in the run's step table artifact."""
        if self.table is None:
            self.table = StepTable(operation=self.name, mapping=self.report.mapping)
        self.table.publish(self.report.steps, running=running)


def _run_name(operation: str) -> Callable[[], str]:
    def name() -> str:
        from prefect.runtime import flow_run

        mapping = str(flow_run.parameters.get("mapping", "mapping")).replace("/", "-")
        return f"{operation}-{mapping}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"

    return name


def _current_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or "")


def _already_approved(flow_run_id: str) -> bool:
    """Whether an earlier attempt of this flow run was approved (its approval step completed)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterName,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[APPROVAL_STEP])),
        )
    return any(run.state is not None and run.state.is_completed() for run in runs)


@task(name="dr-approval", task_run_name=APPROVAL_STEP, cache_policy=CHECKPOINT, persist_result=True)
def record_approval(operation: str, approver: str, comment: str) -> StepRecord:
    """Mark the approval as given (a checkpoint: a retried run does not ask again)."""
    detail = f"approved by {approver or 'someone'}" + (f": {comment}" if comment else "")
    return StepRecord(step=APPROVAL_STEP, started_at=now_text(), finished_at=now_text(), detail=detail)


def _approve(op: Operation, *, timeout: int, poll_seconds: int) -> bool:
    """Pause for approval unless an earlier attempt was approved; ``False`` when rejected."""
    from prefect.flow_runs import pause_flow_run

    run_id = _current_run_id()
    if run_id and _already_approved(run_id):
        op.report.steps.append(StepRecord(step=APPROVAL_STEP, outcome="skipped", detail="approved earlier"))
        return True
    started = now_text()
    op.current = APPROVAL_STEP
    get_run_logger().warning(
        "%s of %s waits for approval: approve in the Prefect UI or run `drsyncer resume %s` "
        "(`--reject` to refuse)",
        op.name,
        op.report.mapping,
        run_id,
    )
    answer = pause_flow_run(
        wait_for_input=Approval,
        timeout=timeout,
        poll_interval=poll_seconds,
        key=f"approval-{uuid.uuid4().hex}",
    )
    if not answer.approve:
        who = answer.approver or "someone"
        op.report.steps.append(
            StepRecord(
                step=APPROVAL_STEP,
                started_at=started,
                finished_at=now_text(),
                outcome="failed",
                detail=f"rejected by {who}" + (f": {answer.comment}" if answer.comment else ""),
            )
        )
        return False
    record = record_approval(op.name, answer.approver, answer.comment)
    op.report.steps.append(dataclasses.replace(record, started_at=started))
    return True


def _start(
    operation: str, mapping_name: str, config: list[str] | None, controller: dict[str, Any] | None
) -> Operation:
    apply_run_log_levels()
    resolved = resolve_mapping(MappingSource(config=tuple(config or ()), controller=controller), mapping_name)
    mapping = resolved.mapping
    session = open_session(mapping, controller=resolved.controller)
    session.operation = operation  # labels the restore points this operation's data copies take
    report = OperationReport(
        operation=operation,
        mapping=mapping.name,
        source_cluster=mapping.source.name,
        source_namespace=mapping.source_namespace,
        destination_cluster=mapping.destination.name,
        destination_namespace=mapping.destination_namespace,
        flow_run_id=_current_run_id(),
    )
    return Operation(operation, session, report, tuple(config or ()))


def _config_args(op: Operation) -> str:
    return " ".join(op.config) or "CONFIG"


def _fail(op: Operation, error: BaseException) -> None:
    """Fill the report of a failed run: the failed step, both sides' state, resume and rollback."""
    report = op.report
    report.phase = "Refused" if isinstance(error, RefusedError) else "Failed"
    report.error = str(error)
    if op.current:
        report.steps.append(
            StepRecord(step=op.current, finished_at=now_text(), outcome="failed", detail=str(error))
        )
    for role in ("source", "dr"):
        try:
            report.sides[role] = side_state(side_of(op.session, role), op.session.mapping)
        except Exception as probe_error:
            report.sides[role] = {"unknown": f"could not read: {probe_error}"}
    if report.phase == "Refused":
        return
    if op.stopped and report.flow_run_id:
        report.resume = f"drsyncer {op.name} --resume {report.flow_run_id}"
        if op.name == "cutover":
            report.rollback = (
                f"drsyncer failback {_config_args(op)} --mapping {report.mapping} --yes --no-copy-back"
            )
        else:
            report.rollback = f"drsyncer cutover {_config_args(op)} --mapping {report.mapping} --yes --force"


def _finish(op: Operation) -> State:
    report = op.report
    op.session.close()
    op.publish_steps()
    key = artifact_key(op.name, report.mapping)
    create_markdown_artifact(markdown=report.to_markdown(), key=key, description=f"dr-syncer {op.name}")
    document = report.to_json()
    if report.phase == "Rejected":
        return Cancelled(message=f"{op.name} of {report.mapping} was rejected", data=document)
    if report.succeeded:
        return Completed(message=f"{op.name} of {report.mapping} completed", data=document)
    message = f"{op.name} of {report.mapping} {report.phase.lower()}: {report.error}"
    if report.resume:
        message += f" — resume: {report.resume}"
    return Failed(message=message, data=document)


def _guarded(op: Operation, body: Callable[[Operation], None]) -> State:
    try:
        body(op)
    except Exception as error:
        get_run_logger().error("%s of %s failed: %s", op.name, op.report.mapping, error)
        _fail(op, error)
    return _finish(op)


def _stage_steps(op: Operation, *, data: bool, prefix: str = "") -> None:
    op.run(sync_objects, step=f"{prefix}sync-objects")
    if data or op.session.mapping.data_sync:  # objects first: the DR claims must exist to copy into
        op.run(copy_data, "source-to-dr", shared_claims(op.session), step=f"{prefix}copy-data")
    op.run(verify_at_rest, step="verify-dr-at-rest")


@flow(
    name="dr-stage",
    flow_run_name=_run_name("stage"),
    task_runner=ThreadPoolTaskRunner(max_workers=WORKERS),  # type: ignore[arg-type]
)
def stage(
    mapping: str,
    config: list[str] | None = None,
    controller: dict[str, Any] | None = None,
    migrate_pvc_data: bool = False,
) -> State:
    """Stage the DR copy: objects (and data with ``migrate_pvc_data``), every DR workload at rest."""
    op = _start("stage", mapping, config, controller)

    def body(op: Operation) -> None:
        op.current = "guard-dr-claims"  # a refusal, before anything changes; not a step when it passes
        guard_claims(op.session, step="guard-dr-claims")
        _stage_steps(op, data=migrate_pvc_data)

    return _guarded(op, body)


@flow(
    name="dr-cutover",
    flow_run_name=_run_name("cutover"),
    task_runner=ThreadPoolTaskRunner(max_workers=WORKERS),  # type: ignore[arg-type]
)
def cutover(
    mapping: str,
    config: list[str] | None = None,
    controller: dict[str, Any] | None = None,
    migrate_pvc_data: bool = False,
    yes: bool = False,
    max_staleness_seconds: float | None = None,
    force: bool = False,
    stop_timeout_seconds: float = 300,
    ready_timeout_seconds: float = 600,
    approval_timeout_seconds: int = 3600,
    approval_poll_seconds: int = 5,
    restore_point: str | None = None,
) -> State:
    """Switch the mapping to DR: stop the source, copy the last changes, start DR at the source's counts.

    Args:
        mapping: the NamespaceMapping's name (or ``namespace/name``).
        config: configuration files or directories (file mode).
        controller: ``{"kubeconfig", "context"}`` of the controller cluster (controller mode).
        migrate_pvc_data: copy PVC data even when the mapping does not sync data.
        yes: skip the approval pause.
        max_staleness_seconds: refuse when the last completed sync is older (default: 2 × schedule).
        force: cut over even when the DR copy is stale or its last data sync failed.
        stop_timeout_seconds: deadline for the source's pods to go.
        ready_timeout_seconds: deadline for DR's workloads to be ready.
        approval_timeout_seconds: how long the approval pause waits.
        approval_poll_seconds: how often the paused run checks for an answer.
        restore_point: ``latest`` or a UTC time: restore DR's claims from their restore points (newest at
            or before it) instead of the final data copy (``tasks/dr/restore_point_step.py``).
    """
    op = _start("cutover", mapping, config, controller)
    data = migrate_pvc_data or op.session.mapping.data_sync

    def body(op: Operation) -> None:
        op.current = "check-staleness"
        op.run(check_staleness, max_staleness_seconds, force, step="check-staleness")
        if not yes and not _approve(op, timeout=approval_timeout_seconds, poll_seconds=approval_poll_seconds):
            op.report.phase = "Rejected"
            return
        op.run(pause_syncs, step="pause-syncs")
        counts = op.run(record_counts, "source", step="record-source-replicas").counts
        op.stopped.append("source")
        op.run(stop_workloads, "source", step="stop-source")
        op.run(probe_stopped, "source", stop_timeout_seconds, step="wait-source-stopped")
        if restore_point:  # the source is corrupted: its last changes must not reach DR
            op.run(restore_from_points, restore_point, step="restore-points")
        elif data:
            op.run(copy_data, "source-to-dr", shared_claims(op.session), step="final-data")
        op.run(sync_objects, step="sync-objects")
        op.run(guard_stopped, "source", step="guard-source-stopped")
        op.report.counts = counts
        op.run(start_workloads, "dr", counts, step="start-dr")
        op.run(probe_ready, "dr", ready_timeout_seconds, step="wait-dr-ready")

    return _guarded(op, body)


@flow(
    name="dr-failback",
    flow_run_name=_run_name("failback"),
    task_runner=ThreadPoolTaskRunner(max_workers=WORKERS),  # type: ignore[arg-type]
)
def failback(
    mapping: str,
    config: list[str] | None = None,
    controller: dict[str, Any] | None = None,
    migrate_pvc_data: bool = False,
    copy_back: bool = True,
    yes: bool = False,
    stop_timeout_seconds: float = 300,
    ready_timeout_seconds: float = 600,
    approval_timeout_seconds: int = 3600,
    approval_poll_seconds: int = 5,
) -> State:
    """Come back to the source: stop DR, copy its changes back, start the source, stage DR again.

    Args:
        mapping: the NamespaceMapping's name (or ``namespace/name``).
        config: configuration files or directories (file mode).
        controller: ``{"kubeconfig", "context"}`` of the controller cluster (controller mode).
        migrate_pvc_data: copy PVC data even when the mapping does not sync data.
        copy_back: copy DR's PVC data back to the source (``False`` rolls back an interrupted cutover,
            whose source data is the newer).
        yes: skip the approval pause.
        stop_timeout_seconds: deadline for DR's pods to go.
        ready_timeout_seconds: deadline for the source's workloads to be ready.
        approval_timeout_seconds: how long the approval pause waits.
        approval_poll_seconds: how often the paused run checks for an answer.
    """
    op = _start("failback", mapping, config, controller)
    data = migrate_pvc_data or op.session.mapping.data_sync

    def body(op: Operation) -> None:
        if not yes and not _approve(op, timeout=approval_timeout_seconds, poll_seconds=approval_poll_seconds):
            op.report.phase = "Rejected"
            return
        op.report.counts = op.run(record_counts, "dr", step="record-dr-replicas").counts
        op.stopped.append("dr")
        op.run(stop_workloads, "dr", step="stop-dr")
        op.run(probe_stopped, "dr", stop_timeout_seconds, step="wait-dr-stopped")
        if data and copy_back:
            op.current = "reverse-data"
            reverse = open_session(reverse_mapping(op.session.mapping))
            reverse.operation = "failback"  # its restore points are of the source claims it overwrites
            try:
                claims = shared_claims(reverse)
                op.run(copy_data, "dr-to-source", claims, session=reverse, step="reverse-data")
            finally:
                reverse.close()
        op.run(guard_stopped, "dr", step="guard-dr-stopped")
        op.run(start_workloads, "source", {}, step="start-source")
        op.run(probe_ready, "source", ready_timeout_seconds, step="wait-source-ready")
        _stage_steps(op, data=data, prefix="stage-")
        op.run(resume_syncs, step="resume-syncs")

    return _guarded(op, body)


FLOWS: dict[str, Any] = {"dr-stage": stage, "dr-cutover": cutover, "dr-failback": failback}
"""Each operation's flow by its Prefect flow name (what :func:`retry_run` looks up)."""


def retry_run(flow_run_id: str) -> State:
    """Run a failed or crashed operation's flow run again, in this process: completed steps are skipped."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    from drsyncer.errors import UsageError

    try:
        run_uuid = uuid.UUID(flow_run_id)
    except ValueError as error:
        raise UsageError(
            f"{flow_run_id!r} is not a flow run id", fix="copy the id from the report"
        ) from error
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(run_uuid)
        except ObjectNotFound as error:
            raise UsageError(f"no flow run {flow_run_id}", fix="check PREFECT_API_URL and the id") from error
        flow_name = client.read_flow(run.flow_id).name
        operation = FLOWS.get(flow_name)
        if operation is None:
            raise UsageError(f"flow run {flow_run_id} is a {flow_name!r} run, not a DR operation")
        state_type = run.state.type.value if run.state else "unknown"
        if state_type not in ("FAILED", "CRASHED"):
            raise UsageError(
                f"flow run {flow_run_id} is {state_type}; only a failed or crashed operation can be resumed",
                fix="start a new operation instead",
            )
        client.set_flow_run_state(run_uuid, Scheduled(message="Resumed by drsyncer"), force=True)
        run = client.read_flow_run(run_uuid)
    state = run_flow(flow=operation, flow_run=run, parameters=dict(run.parameters), return_type="state")
    return cast(State, state)


def answer_approval(flow_run_id: str, *, approve: bool, approver: str = "", comment: str = "") -> None:
    """Resume a paused operation with its :class:`Approval` input."""
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(
        uuid.UUID(flow_run_id), run_input={"approve": approve, "approver": approver, "comment": comment}
    )
