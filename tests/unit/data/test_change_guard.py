"""The change guard's judging rules and summary format (``tasks/data/change_guard.py``); pure."""

from __future__ import annotations

from tasks.data.change_guard import ChangeCounter, ChangeGuardLimits, ChangeSummary, held_reason


def test_copies_smaller_than_min_files_are_not_judged() -> None:
    summary = ChangeSummary(dr_files=10, deleted=10, changed=0)

    assert held_reason(summary, ChangeGuardLimits(min_files=11)) is None
    assert held_reason(summary, ChangeGuardLimits(min_files=10)) is not None


def test_limits_are_exclusive_thresholds() -> None:
    at_limit = ChangeSummary(dr_files=100, deleted=20, changed=50)
    above = ChangeSummary(dr_files=100, deleted=21, changed=50)

    assert held_reason(at_limit, ChangeGuardLimits()) is None
    assert held_reason(above, ChangeGuardLimits()) is not None


def test_the_summary_round_trips_through_the_agents_json() -> None:
    summary = ChangeSummary(
        dr_files=5, deleted=1, changed=2, created=3, deleted_sample=("a",), changed_sample=("b", "c")
    )

    assert ChangeSummary.from_json(summary.to_json()) == summary


def test_counts_without_the_stats_block_fall_back_to_the_differences() -> None:
    counter = ChangeCounter().feed_all(["*deleting   gone.txt", ">f.st...... kept.txt", "cd+++++++++ new/"])

    assert counter.summary() == ChangeSummary(
        dr_files=2, deleted=1, changed=1, deleted_sample=("gone.txt",), changed_sample=("kept.txt",)
    )
