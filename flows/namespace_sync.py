"""The namespace-sync flow: one NamespaceMapping, source namespace → DR namespace (design §4).

``discover → filter → transform → plan → apply → prune → PVC data → report``

The flow only orchestrates: it loads the mapping, opens the session, fans discovery out over the kinds
(bounded), plans, applies kind by kind in dependency order, runs the data stage and builds the
:class:`~drsyncer.report.SyncReport` — returned, published as Prefect artifacts, and (controller mode)
written to the NamespaceMapping status. A failed object never stops the others; any failure fails the
flow run at the end, with the list.

Parameters carry only references (the mapping's name and where the configuration lives), never secrets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import DrSyncerError
from drsyncer.labels import ORIGINAL_REPLICAS
from drsyncer.metrics.run_record import publish_run_record
from drsyncer.prefect_env import apply_run_log_levels
from drsyncer.report import ObjectOutcome, SyncReport
from drsyncer.run_log import apply_line, data_line, discover_line, object_lines, summary_line
from flows.mapping_source import MappingSource, resolve_mapping
from flows.run_artifacts import publish_sync_report
from tasks.apply.applier import ApplyContext, kind_groups
from tasks.concurrency_limits import holding, mapping_limit
from tasks.plan.planner import PlanEntry
from tasks.prepare import PreparedPlan, planned_outcome
from tasks.session import SyncSession, namespace_objects, open_session, prepare_kinds
from tasks.sync_tasks import apply_kind, discover_kind, plan_sync

DISCOVERY_WORKERS = 4


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    mapping = str(parameters.get("mapping", "mapping"))
    verb = "plan" if parameters.get("plan_only") else "sync"
    return f"{verb}-{mapping.replace('/', '-')}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


@flow(
    name="namespace-sync",
    flow_run_name=_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=DISCOVERY_WORKERS),
    log_prints=False,
)
def namespace_sync(
    mapping: str,
    config: list[str] | None = None,
    controller: dict[str, Any] | None = None,
    plan_only: bool = False,
) -> State:
    """Sync one NamespaceMapping (or only plan it) and report what happened.

    Args:
        mapping: the NamespaceMapping's ``metadata.name`` (or ``namespace/name``).
        config: configuration files or directories (file mode).
        controller: ``{"kubeconfig": PATH, "context": NAME}`` of the controller cluster (controller mode).
        plan_only: plan without writing anything.
    """
    apply_run_log_levels()
    source = MappingSource(config=tuple(config or ()), controller=controller)
    resolved = resolve_mapping(source, mapping)
    with mapping_lock(resolved.mapping, plan_only=plan_only):
        if resolved.on_start is not None and not plan_only:
            resolved.on_start()
        report = run_sync(resolved.mapping, controller_client=resolved.controller, plan_only=plan_only)
        if resolved.status_writer is not None and not plan_only:
            resolved.status_writer(report)
    publish_report(report)
    document = report.to_json()
    summary = json.dumps({"counts": report.counts, "bytes": sum(p.bytes_transferred for p in report.pvcs)})
    if report.succeeded:
        return Completed(message=summary, data=document)
    return Failed(message=f"sync of {report.mapping} failed: {report.failure_summary()}", data=document)


@contextmanager
def mapping_lock(mapping: EffectiveMapping, *, plan_only: bool) -> Iterator[None]:
    """One sync of a mapping at a time, whichever deployment, subflow or CLI started it.

    A Prefect global concurrency limit of 1 named after the mapping (created on first use). Plans write
    nothing and take no lock.
    """
    if plan_only:
        yield
        return
    with holding(mapping_limit(mapping.namespace, mapping.name), limit=1):
        yield


def run_sync(
    mapping: EffectiveMapping, *, controller_client: Any = None, plan_only: bool = False, data: bool = True
) -> SyncReport:
    """The body of the flow: every stage, with failures collected into the report.

    ``data=False`` leaves out the PVC data stage (DR operations copy data in a step of their own).
    """
    logger = get_run_logger()
    started = time.monotonic()
    report = SyncReport.for_mapping(mapping, started_at=_now(), plan_only=plan_only)
    session: SyncSession | None = None
    try:
        session = open_session(mapping, controller=controller_client)
        kind_outcomes = [*prepare_kinds(session, plan_only=plan_only), *session.kind_outcomes]
        plan = _discover_and_plan(session)
        report.deployment_scales = deployment_scales(plan)
        if plan_only:
            report.objects = kind_outcomes + [planned_outcome(entry) for entry in plan.all_entries]
        else:
            stage_started = time.monotonic()
            report.objects = kind_outcomes + apply_plan(session, plan)
            log_apply_stage(report.objects, seconds=time.monotonic() - stage_started)
            report.stage_seconds["objects"] = time.monotonic() - started
            if mapping.data_sync and data:
                from flows.data_stage import sync_pvc_data  # ~0.25 s of imports: only data mappings pay

                stage_started = time.monotonic()
                report.pvcs = sync_pvc_data(session, claims_to_copy(report.objects))
                report.stage_seconds["data"] = time.monotonic() - stage_started
                if report.pvcs:
                    logger.info("%s", data_line(report.pvcs, seconds=time.monotonic() - stage_started))
    except DrSyncerError as error:
        logger.error("%s", error)
        report.error = str(error)
    finally:
        if session is not None:
            report.warnings = session.warnings()
            report.retries = session.retries()
            session.close()
    report.finished_at = _now()
    report.duration_seconds = time.monotonic() - started
    summary = summary_line(report)
    logger.log(summary.level, "%s", summary.message)
    return report


def log_apply_stage(outcomes: list[ObjectOutcome], *, seconds: float) -> None:
    """The apply stage's line, then one line per failed or skipped object (bounded)."""
    logger = get_run_logger()
    logger.info("%s", apply_line(outcomes, seconds=seconds))
    for line in object_lines(outcomes):
        logger.log(line.level, "%s", line.message)


def _discover_and_plan(session: SyncSession) -> PreparedPlan:
    started = time.monotonic()
    futures = [discover_kind.submit(session, resource) for resource in session.resources]
    listings = [future.result() for future in futures]
    get_run_logger().info(
        "%s",
        discover_line(
            ((len(listing.source), len(listing.destination)) for listing in listings),
            seconds=time.monotonic() - started,
        ),
    )
    source_namespace, destination_namespace = namespace_objects(session)
    # quote(): Prefect would otherwise walk every listed object looking for futures (seconds per 1,000).
    return plan_sync(session, quote(listings), source_namespace, destination_namespace)


ApplyKind = Callable[[ApplyContext, str, list[PlanEntry]], list[ObjectOutcome]]
"""Applies the entries of one kind: the ``apply`` task in the flow, ``apply_entries`` without Prefect."""


def _apply_kind_task(context: ApplyContext, kind: str, entries: list[PlanEntry]) -> list[ObjectOutcome]:
    # quote(): Prefect would otherwise walk every entry looking for futures.
    return apply_kind(context, kind, quote(entries))


def apply_plan(
    session: SyncSession, plan: PreparedPlan, *, apply: ApplyKind = _apply_kind_task
) -> list[ObjectOutcome]:
    """Apply a plan: the namespace first (refused without ``createNamespace``; stop if it fails), then
    kind by kind in dependency order, skipping kinds with nothing to write; ``apply`` does one kind."""
    mapping = session.mapping
    context = ApplyContext(
        client=session.destination,
        discovery=session.destination_discovery,
        namespace=mapping.destination_namespace,
        immutable=mapping.immutable_resource_config,
    )
    outcomes: list[ObjectOutcome] = []
    namespace_entry = plan.namespace
    if namespace_entry.action == "create" and not mapping.namespace_config.create_namespace:
        outcomes.append(
            ObjectOutcome(
                kind="Namespace",
                name=mapping.destination_namespace,
                action="create",
                status="failed",
                error=f"namespace {mapping.destination_namespace!r} does not exist in cluster "
                f"{mapping.destination.name!r} and namespaceConfig.createNamespace is false; create it first",
            )
        )
        return outcomes
    namespace_context = ApplyContext(
        client=session.destination, discovery=session.destination_discovery, namespace=""
    )
    outcomes.extend(apply(namespace_context, "Namespace", [namespace_entry]))
    if outcomes[-1].status == "failed":
        return outcomes
    for kind, entries in kind_groups(plan.entries):
        if all(entry.action in ("unchanged", "skip") for entry in entries):
            outcomes.extend(
                ObjectOutcome(
                    kind=e.kind,
                    name=e.name,
                    action=e.action,
                    status="unchanged" if e.action == "unchanged" else "skipped",
                    reason=e.reason,
                )
                for e in entries
            )
            continue
        outcomes.extend(apply(context, kind, entries))
    return outcomes


def claims_to_copy(outcomes: list[ObjectOutcome]) -> list[str]:
    """The DR claims whose object sync succeeded (their data is copied next)."""
    return [
        outcome.name
        for outcome in outcomes
        if outcome.kind == "PersistentVolumeClaim" and outcome.status in ("synced", "unchanged")
    ]


def deployment_scales(plan: PreparedPlan) -> list[dict[str, Any]]:
    """``{"name", "originalReplicas"}`` for each Deployment the plan syncs (NamespaceMapping status)."""
    scales = []
    for entry in plan.entries:
        if entry.kind != "Deployment" or entry.obj is None or entry.action in ("skip", "prune"):
            continue
        annotations = (entry.obj.get("metadata") or {}).get("annotations") or {}
        try:
            original = int(annotations.get(ORIGINAL_REPLICAS, "0"))
        except ValueError:
            original = 0
        scales.append({"name": entry.name, "originalReplicas": original})
    return scales


def publish_report(report: SyncReport) -> None:
    """The report as Prefect artifacts: a markdown summary and the objects table (see run_artifacts)."""
    publish_sync_report(report)
    publish_run_record(report)
