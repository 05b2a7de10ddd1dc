"""Prefect tasks of the resource sync: thin wrappers, one per stage and kind, never one per object.

Each task calls the plain functions of its stage and adds what Prefect is for: retries of transient
cluster errors, a name in the UI, and logs. Every task here has side effects or reads live state, so
none caches (``cache_policy=NO_CACHE``).
"""

from __future__ import annotations

import time

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from drsyncer.errors import TransientClusterError
from drsyncer.kube.discovery import ApiResource
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from drsyncer.run_log import stage_line
from tasks.apply.applier import ApplyContext, apply_entries
from tasks.discover.listing import KindListing
from tasks.discover.storage_classes import storage_class_names
from tasks.plan.live_dr import WORKLOAD_KINDS, live_workloads, refuse_live_dr
from tasks.plan.planner import PlanEntry
from tasks.prepare import PreparedPlan, prepare_plan
from tasks.session import SyncSession, discover_listing


def _retry_transient(task: object, task_run: object, state: object) -> bool:
    """Prefect retry condition: only transient cluster errors are retried."""
    try:
        state.result()  # type: ignore[attr-defined]
    except TransientClusterError:
        return True
    except Exception:
        return False
    return False


@task(
    name="discover",
    task_run_name="discover-{resource.qualified_name}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_transient,
)
def discover_kind(session: SyncSession, resource: ApiResource) -> KindListing:
    """List one kind in the source namespace and in the DR namespace."""
    listing = discover_listing(session, resource)
    get_run_logger().debug(
        "%s: %d in source, %d in DR", resource.qualified_name, len(listing.source), len(listing.destination)
    )
    return listing


@task(name="plan", task_run_name="plan", cache_policy=NO_CACHE)
def plan_sync(
    session: SyncSession,
    listings: list[KindListing],
    source_namespace: KubeObject,
    destination_namespace: KubeObject | None,
) -> PreparedPlan:
    """Filter, transform and plan everything discovery listed.

    Refused (:class:`~tasks.plan.live_dr.DrLiveError`) when DR runs after a cutover: nothing is planned.
    """
    started = time.monotonic()
    workloads = [
        listing
        for listing in listings
        if listing.resource.group == "apps" and listing.resource.kind in WORKLOAD_KINDS
    ]
    refuse_live_dr(
        live_workloads(
            [obj for listing in workloads for obj in listing.source],
            [obj for listing in workloads for obj in listing.destination],
        ),
        mapping=session.mapping.name,
        dr_namespace=session.mapping.destination_namespace,
    )
    plan = prepare_plan(
        session.mapping,
        listings,
        source_namespace=source_namespace,
        destination_namespace=destination_namespace,
        dr_storage_classes=storage_class_names(session.destination, session.resources),
    )
    actions: dict[str, int] = {}
    for entry in plan.all_entries:
        actions[entry.action] = actions.get(entry.action, 0) + 1
    get_run_logger().info(
        "%s", stage_line("plan", dict(sorted(actions.items())), seconds=time.monotonic() - started)
    )
    return plan


@task(name="apply", task_run_name="apply-{kind}", cache_policy=NO_CACHE)
def apply_kind(context: ApplyContext, kind: str, entries: list[PlanEntry]) -> list[ObjectOutcome]:
    """Apply (or prune) the entries of one kind, a few at once; failures become outcomes, never exceptions.

    Per-object lines are DEBUG: the flow logs the stage's counts and each failed or skipped object once.
    """
    logger = get_run_logger()
    outcomes = apply_entries(context, entries)
    for entry, outcome in zip(entries, outcomes, strict=True):
        if outcome.status == "failed":
            logger.debug("%s/%s failed: %s", entry.kind, entry.name, outcome.error)
        elif outcome.status in ("synced", "pruned"):
            logger.debug(
                "%s/%s %s",
                entry.kind,
                entry.name,
                "pruned" if outcome.status == "pruned" else entry.action + "d",
            )
    return outcomes
