"""Retrying transient data failures: exponential backoff with jitter, per ``retryConfig``.

``retryConfig`` (DR-Syncer's): ``maxRetries`` 5, ``initialBackoff`` 5s, ``maxBackoff`` 5m,
``backoffMultiplier`` 200 (percent). Attempt *n* (1-based) that fails transiently waits
``min(initial * (multiplier/100) ** (n-1), max)`` scaled by a jitter factor in ``[1-jitter, 1+jitter]``.
``maxRetries`` counts retries, so a PVC gets at most ``1 + maxRetries`` attempts. Only
:class:`drsyncer.errors.TransientDataError` is retried; auth and safety errors fail at once. ``sleep`` and
``rng`` are parameters so tests run the real schedule without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from drsyncer.errors import TransientDataError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts."""

    max_retries: int = 5
    initial_backoff_seconds: float = 5.0
    max_backoff_seconds: float = 300.0
    backoff_multiplier_percent: int = 200
    jitter: float = 0.15

    def backoff(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), jitter included."""
        base = self.initial_backoff_seconds * (self.backoff_multiplier_percent / 100.0) ** (attempt - 1)
        capped = min(base, self.max_backoff_seconds)
        if self.jitter <= 0:
            return capped
        factor = (rng or random.Random()).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return min(capped * factor, self.max_backoff_seconds * (1.0 + self.jitter))

    def schedule(self, *, rng: random.Random | None = None) -> list[float]:
        """Every wait this policy would do, in order (``max_retries`` values)."""
        generator = rng or random.Random()
        return [self.backoff(attempt, rng=generator) for attempt in range(1, self.max_retries + 1)]


def call_with_retry(
    operation: Callable[[int], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, float, TransientDataError], None] | None = None,
) -> T:
    """Call ``operation(attempt)`` until it succeeds, retrying only :class:`TransientDataError`.

    Re-raises the last transient error when attempts run out; any other exception propagates at once.
    """
    generator = rng or random.Random()
    attempt = 1
    while True:
        try:
            return operation(attempt)
        except TransientDataError as error:
            if attempt > policy.max_retries:
                raise
            wait = policy.backoff(attempt, rng=generator)
            if on_retry is not None:
                on_retry(attempt, wait, error)
            sleep(wait)
            attempt += 1
