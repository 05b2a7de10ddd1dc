"""Exponential backoff with jitter per retryConfig; only transient data errors are retried."""

from __future__ import annotations

import random

import pytest

from drsyncer.errors import DataAuthError, TransientDataError
from tasks.data.retry import RetryPolicy, call_with_retry


def test_default_schedule_follows_retry_config_without_jitter() -> None:
    policy = RetryPolicy(jitter=0.0)

    assert policy.schedule() == [5.0, 10.0, 20.0, 40.0, 80.0]


def test_backoff_is_capped_at_max_backoff() -> None:
    policy = RetryPolicy(max_retries=10, jitter=0.0)

    assert policy.schedule()[-1] == 300.0


def test_jitter_stays_within_bounds_and_is_reproducible() -> None:
    policy = RetryPolicy()
    first = policy.schedule(rng=random.Random(1))
    second = policy.schedule(rng=random.Random(1))

    assert first == second
    for wait, base in zip(first, [5.0, 10.0, 20.0, 40.0, 80.0], strict=True):
        assert 0.85 * base <= wait <= 1.15 * base


def test_transient_errors_are_retried_until_success() -> None:
    sleeps: list[float] = []
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 3:
            raise TransientDataError("connection reset")
        return "ok"

    assert call_with_retry(flaky, RetryPolicy(jitter=0.0), sleep=sleeps.append) == "ok"
    assert calls == [1, 2, 3]
    assert sleeps == [5.0, 10.0]


def test_retries_run_out_with_the_last_error() -> None:
    sleeps: list[float] = []

    def down(attempt: int) -> None:
        raise TransientDataError(f"refused {attempt}")

    with pytest.raises(TransientDataError, match="refused 4"):
        call_with_retry(down, RetryPolicy(max_retries=3, jitter=0.0), sleep=sleeps.append)
    assert len(sleeps) == 3


def test_auth_errors_are_never_retried() -> None:
    sleeps: list[float] = []

    def refused(attempt: int) -> None:
        raise DataAuthError("host key mismatch")

    with pytest.raises(DataAuthError):
        call_with_retry(refused, RetryPolicy(), sleep=sleeps.append)
    assert sleeps == []
