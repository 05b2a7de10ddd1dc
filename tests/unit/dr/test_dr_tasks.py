"""Conformance of the DR step tasks: effectful steps are checkpoints, probes are never cached."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.cache_policies import NO_CACHE

from flows import dr_operations
from tasks.dr import dr_tasks

CHECKPOINTS = [
    dr_tasks.record_counts,
    dr_tasks.stop_workloads,
    dr_tasks.start_workloads,
    dr_tasks.check_staleness,
    dr_tasks.pause_syncs,
    dr_tasks.resume_syncs,
    dr_operations.copy_data,
    dr_operations.sync_objects,
    dr_operations.record_approval,
]
PROBES = [dr_tasks.probe_stopped, dr_tasks.probe_ready, dr_tasks.guard_stopped, dr_tasks.verify_at_rest]


@pytest.mark.parametrize("step", CHECKPOINTS, ids=lambda step: step.name)
def test_effectful_steps_are_checkpoints_keyed_by_run_and_inputs_without_the_session(step: Any) -> None:
    assert step.cache_policy is dr_tasks.CHECKPOINT
    assert step.persist_result is True


@pytest.mark.parametrize("step", PROBES, ids=lambda step: step.name)
def test_probes_always_run_again(step: Any) -> None:
    assert step.cache_policy is NO_CACHE


def test_the_checkpoint_key_ignores_the_live_session_and_includes_the_flow_run() -> None:
    text = repr(dr_tasks.CHECKPOINT)

    assert "exclude=['session']" in text
    assert "RunId" in text
    assert "TaskSource" in text
