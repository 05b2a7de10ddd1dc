"""Folding finished runs into a mapping's metric state: last success per stage, counters, idempotence."""

from __future__ import annotations

from drsyncer.metrics.run_record import PvcRecord, RunRecord
from drsyncer.metrics.state import FinishedRun, MappingState, observe


def _record(*, objects: str = "succeeded", data: str = "succeeded", pvc_ok: bool = True) -> RunRecord:
    reason = (
        "" if objects == "succeeded" and data != "failed" else ("objects" if objects == "failed" else "data")
    )
    return RunRecord(
        succeeded=not reason,
        reason=reason,
        seconds=3.0,
        stage_status={"objects": objects, "data": data},
        stage_seconds={"objects": 1.0, "data": 2.0},
        pvcs=(PvcRecord("data-0", succeeded=pvc_ok, seconds=2.0, bytes=100, files=2),),
        outcomes={"created": 1, "failed": 0 if objects == "succeeded" else 1},
    )


def _run(
    run_id: str, start: float, *, state: str = "COMPLETED", record: RunRecord | None = None
) -> FinishedRun:
    return FinishedRun(
        run_id=run_id,
        state_type=state,
        start=start,
        end=start + 5,
        message=f"{state} {run_id}",
        record=record,
    )


def test_last_success_is_the_start_of_the_run_per_stage() -> None:
    state = MappingState()
    observe(state, _run("a", 1000.0, record=_record()))
    observe(state, _run("b", 2000.0, state="FAILED", record=_record(objects="failed")))

    assert state.last_success == {"objects": 1000.0, "data": 2000.0}
    assert state.pvc_last_success == {"data-0": 2000.0}
    assert state.failures["objects"] == 1
    assert state.consecutive_failures == 1
    assert state.last_error == "FAILED b"
    assert state.outcomes == {"created": 1, "failed": 1}


def test_a_run_is_folded_once_however_often_it_is_read() -> None:
    state = MappingState()
    run = _run("a", 1000.0, record=_record())

    assert observe(state, run)
    assert not observe(state, run)

    assert state.pvc_bytes == {"data-0": 100}
    assert state.durations["objects"].count == 1


def test_a_success_resets_consecutive_failures_and_crashes_count_without_a_record() -> None:
    state = MappingState()
    observe(state, _run("a", 1000.0, state="CRASHED"))
    observe(state, _run("b", 2000.0, state="FAILED"))
    assert state.failures["crashed"] == 1
    assert state.failures["error"] == 1
    assert state.consecutive_failures == 2
    assert state.last_success == {}

    observe(state, _run("c", 3000.0, record=_record()))

    assert state.consecutive_failures == 0
    assert state.last_success["objects"] == 3000.0


def test_cancelled_runs_are_neither_success_nor_failure() -> None:
    state = MappingState()
    observe(state, _run("a", 1000.0, state="CANCELLED"))

    assert state.last_success == {}
    assert sum(state.failures.values()) == 0
    assert state.last_state == "CANCELLED"


def test_duration_histogram_buckets_are_cumulative() -> None:
    state = MappingState()
    observe(state, _run("a", 1000.0, record=_record()))

    histogram = state.durations["data"]  # 2.0 s: above the 1 s bucket, inside 5 s and every larger one
    assert histogram.buckets[0] == 0
    assert all(count == 1 for count in histogram.buckets[1:])
    assert histogram.total == 2.0


def test_plans_and_other_mappings_runs_are_not_runs_of_the_mapping() -> None:
    from drsyncer.metrics.history import is_run_of

    names = ("web", "default/web")
    assert is_run_of({"mapping": "web"}, names)
    assert is_run_of({"mapping": "default/web", "plan_only": False}, names)
    assert not is_run_of({"mapping": "web", "plan_only": True}, names)
    assert not is_run_of({"mapping": "web2"}, names)


def test_a_completed_data_only_run_with_a_failed_pvc_counts_as_a_data_failure() -> None:
    state = MappingState()
    observe(state, _run("a", 1000.0, record=_record()))
    data_only = RunRecord(
        succeeded=False,
        reason="data",
        seconds=2.0,
        stage_status={"objects": "skipped", "data": "failed"},
        stage_seconds={"data": 2.0},
        pvcs=(PvcRecord("data-0", succeeded=False, seconds=2.0, bytes=0, files=0),),
    )

    observe(state, _run("b", 2000.0, state="COMPLETED", record=data_only))

    assert state.failures["data"] == 1
    assert state.consecutive_failures == 1
    assert state.last_success == {"objects": 1000.0, "data": 1000.0}
    assert state.durations["objects"].count == 1  # the skipped stage is not a duration


def test_a_pvc_held_by_the_change_guard_is_held_until_a_later_run_syncs_it() -> None:
    state = MappingState()
    held = RunRecord(
        succeeded=False,
        reason="data",
        seconds=1.0,
        stage_status={"objects": "succeeded", "data": "failed"},
        pvcs=(PvcRecord("ledger", succeeded=False, seconds=1.0, bytes=0, files=0, held=True),),
    )

    observe(state, _run("a", 1000.0, record=held))
    observe(state, _run("old", 500.0, record=_record()))  # an older run read late changes nothing

    assert state.pvc_held == {"ledger": True}
    released = RunRecord(
        succeeded=True,
        reason="",
        seconds=1.0,
        stage_status={"objects": "succeeded", "data": "succeeded"},
        pvcs=(PvcRecord("ledger", succeeded=True, seconds=1.0, bytes=10, files=1),),
    )
    observe(state, _run("b", 2000.0, record=released))
    assert state.pvc_held == {"ledger": False}
