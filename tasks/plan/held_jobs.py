"""Jobs whose source finished (or went away) after they were copied: their DR copies stay suspended.

A DR Job is resumed at cutover when the source had not suspended it (``dr-syncer.io/original-suspend:
"false"``). If the source Job then *finishes* — or is deleted, e.g. by ``ttlSecondsAfterFinished`` — its
DR copy, still suspended, would be resumed at cutover and do the work a second time. So the plan turns
each such copy's record to ``"true"`` (one update, once): cutover leaves it suspended. With ``prune``
the copy of a Job whose source is gone is deleted instead, as any other object. Pure: plan entries in,
plan entries out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import replace

from drsyncer.labels import FIELD_MANAGER, ORIGINAL_SUSPEND
from drsyncer.objects import KubeObject
from tasks.order import apply_sort_key
from tasks.plan.managed_fields import is_managed_by
from tasks.plan.planner import PlanEntry, object_key, plan_object
from tasks.transform.context import TransformContext
from tasks.transform.runner import transform_object

JOB = "Job"
HELD = "true"
LEFTOVER_ACTIONS = frozenset({"prune", "skip"})


def _held(desired: KubeObject) -> KubeObject:
    held = copy.deepcopy(desired)
    held.setdefault("metadata", {}).setdefault("annotations", {})[ORIGINAL_SUSPEND] = HELD
    return held


def hold_finished_jobs(
    entries: list[PlanEntry],
    *,
    finished_sources: Iterable[KubeObject],
    live_objects: Iterable[KubeObject],
    ctx: TransformContext,
    manager: str = FIELD_MANAGER,
) -> tuple[list[PlanEntry], set[str]]:
    """Plan the DR copies of finished or vanished source Jobs to stay suspended at cutover.

    Args:
        entries: The namespace's plan (from ``plan_namespace``).
        finished_sources: Source Jobs the filter skipped as finished.
        live_objects: The DR namespace's objects.
        ctx: The transformation context (to build a finished Job's DR form).
        manager: dr-syncer's field manager: only copies it manages are held.

    Returns:
        The plan with a ``hold`` update per such copy (replacing its ``skip``), and the held Job names
        (their filter ``skip`` entries are redundant).
    """
    live_jobs = {object_key(obj): obj for obj in live_objects if obj.get("kind") == JOB}
    sources = {
        object_key(desired): desired
        for desired in (transform_object(job, ctx).obj for job in finished_sources)
    }
    held: dict[str, PlanEntry] = {}
    for entry in entries:
        if entry.kind != JOB or entry.action != "skip":
            continue
        key = next((key for key in live_jobs if key[2] == entry.name), None)
        live = live_jobs.get(key) if key is not None else None
        if key is None or live is None or not is_managed_by(live, manager=manager):
            continue
        if ((live.get("metadata") or {}).get("annotations") or {}).get(ORIGINAL_SUSPEND) == HELD:
            continue
        desired = sources.get(key) or transform_object(live, ctx).obj
        why = "finished at the source" if key in sources else "gone from the source"
        planned = plan_object(_held(desired), live, manager=manager, prune=False)
        held[entry.name] = replace(
            planned, reason=f"{why}: the DR copy stays suspended (cutover leaves it); {planned.reason}"
        )
    if not held:
        return entries, set()
    kept = [entry for entry in entries if not (entry.kind == JOB and entry.name in held)]
    applies = [entry for entry in kept if entry.action not in LEFTOVER_ACTIONS]
    rest = [entry for entry in kept if entry.action in LEFTOVER_ACTIONS]
    ordered = sorted([*applies, *held.values()], key=lambda item: apply_sort_key(item.kind, item.name))
    return ordered + rest, set(held)
