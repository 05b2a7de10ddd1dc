"""API Priority and Fairness: a cluster with a bounded number of seats answers 429 when they are taken.

Upstream behaviour reproduced (kube-apiserver ``k8s.io/apiserver/pkg/server/filters/priority-and-fairness.go``
and ``tooManyRequests`` in ``filters/maxinflight.go``): each request occupies a seat of its priority level
while it is served; when every seat is taken (and the queues are full) the request is rejected with
``429``, a ``Status`` with reason ``TooManyRequests``, message ``Too many requests, please try again
later.``, ``details.retryAfterSeconds`` and the header ``Retry-After: 1``. Long-running requests (watches)
do not hold a seat. Clients are expected to wait ``Retry-After`` seconds and retry.

:class:`PriorityAndFairness` models one priority level with ``seats`` seats and no queue (``None``: no
limit, the default). An optional ``hold`` keeps each admitted request on its seat a little longer, so a
test can create contention deterministically on a fast machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from drsyncer.sandbox import status as errors

RETRY_AFTER_SECONDS = 1


@dataclass
class PriorityAndFairness:
    """One priority level: ``seats`` concurrent requests (``None``: unlimited)."""

    seats: int | None = None
    hold: float = 0.0
    rejected: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, *, seats: int | None, hold: float = 0.0) -> None:
        """Set the number of seats (``None``: unlimited) and how long each request keeps its seat."""
        with self._lock:
            self.seats, self.hold, self.rejected = seats, hold, 0

    @contextmanager
    def seat(self, *, long_running: bool) -> Iterator[None]:
        """Hold a seat while a request is served; raise the API server's 429 when none is free."""
        if long_running or self.seats is None:
            yield
            return
        with self._lock:
            if self._in_flight >= self.seats:
                self.rejected += 1
                raise too_many_requests()
            self._in_flight += 1
        try:
            if self.hold:
                time.sleep(self.hold)
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def reset(self) -> None:
        """Unlimited again."""
        self.configure(seats=None)


def too_many_requests() -> errors.ApiError:
    """The 429 kube-apiserver sends when a priority level is saturated."""
    error = errors.ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    error.details = {"retryAfterSeconds": RETRY_AFTER_SECONDS}
    return error
