"""A DR Job whose source finished or vanished after the copy is planned to stay suspended at cutover."""

from __future__ import annotations

from tasks.plan.held_jobs import hold_finished_jobs
from tasks.plan.planner import plan_namespace
from tasks.transform.runner import transform_object
from tests.factories import applied, make_context, make_job

CTX = make_context()
RECORD = "dr-syncer.io/original-suspend"


def test_copy_of_a_finished_source_job_is_held() -> None:
    source = make_job()
    live = applied(transform_object(source, CTX).obj)
    entries = plan_namespace([], [live], prune=False, prune_pvcs=False)

    held_entries, held = hold_finished_jobs(entries, finished_sources=[source], live_objects=[live], ctx=CTX)

    assert held == {"migrate"}
    (entry,) = held_entries
    assert entry.action == "update"
    assert entry.reason.startswith("finished at the source")
    assert entry.obj is not None
    assert entry.obj["metadata"]["annotations"][RECORD] == "true"
    assert entry.obj["spec"]["suspend"] is True


def test_copy_of_a_vanished_source_job_is_held_from_its_own_form() -> None:
    live = applied(transform_object(make_job(), CTX).obj)
    entries = plan_namespace([], [live], prune=False, prune_pvcs=False)

    (entry,), held = hold_finished_jobs(entries, finished_sources=[], live_objects=[live], ctx=CTX)

    assert held == {"migrate"}
    assert entry.reason.startswith("gone from the source")


def test_held_or_pruned_copies_are_left_alone() -> None:
    live = applied(transform_object(make_job(), CTX).obj)
    live["metadata"]["annotations"][RECORD] = "true"
    entries = plan_namespace([], [live], prune=False, prune_pvcs=False)
    assert hold_finished_jobs(entries, finished_sources=[], live_objects=[live], ctx=CTX) == (entries, set())
    live["metadata"]["annotations"][RECORD] = "false"
    pruned = plan_namespace([], [live], prune=True, prune_pvcs=False)
    assert hold_finished_jobs(pruned, finished_sources=[], live_objects=[live], ctx=CTX) == (pruned, set())
