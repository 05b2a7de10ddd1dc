"""When a cutover is refused: no completed sync, a stale copy, a failed data sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tasks.dr.staleness import SyncHistory, schedule_interval, staleness_problem

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_recent_completed_sync_is_fresh() -> None:
    history = SyncHistory(last_success=NOW - timedelta(minutes=4), last_success_run="sync-1")

    assert staleness_problem(history, now=NOW, max_staleness=timedelta(minutes=10)) is None


def test_an_old_sync_is_stale() -> None:
    history = SyncHistory(last_success=NOW - timedelta(minutes=30), last_success_run="sync-1")

    problem = staleness_problem(history, now=NOW, max_staleness=timedelta(minutes=10))

    assert problem is not None
    assert "stale" in problem
    assert "30 min" in problem


def test_no_completed_sync_is_refused_even_without_a_limit() -> None:
    problem = staleness_problem(SyncHistory(), now=NOW, max_staleness=None)

    assert problem is not None
    assert "ever completed" in problem


def test_a_failed_last_data_sync_is_refused_even_when_fresh() -> None:
    history = SyncHistory(
        last_success=NOW - timedelta(minutes=1),
        last_finished_run="sync-2",
        last_finished_failed_data=True,
        last_finished_message="PVC data: connection refused",
    )

    problem = staleness_problem(history, now=NOW, max_staleness=timedelta(hours=1))

    assert problem is not None
    assert "sync-2" in problem


def test_schedule_interval_is_the_gap_between_two_runs() -> None:
    assert schedule_interval("*/5 * * * *", now=NOW) == timedelta(minutes=5)
    assert schedule_interval("0 2 * * *", now=NOW) == timedelta(days=1)
    assert schedule_interval(None, now=NOW) is None
