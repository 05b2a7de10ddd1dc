"""Fault injection: make the next N matching requests fail, stall or lose their connection.

``cluster.faults.add(method="GET", path_regex="/configmaps", status=429, retry_after=1, times=2)`` makes
the next two matching requests answer 429 with ``Retry-After: 1`` and a ``TooManyRequests`` Status;
``status=500`` answers InternalError, ``reset=True`` closes the connection without a response (the client
sees a connection reset), ``latency=0.2`` delays the request and then serves it normally. Rules are
consumed in the order they were added; ``times=None`` never runs out.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """One injection rule."""

    method: str | None = None
    path_regex: str | None = None
    status: int | None = None
    retry_after: int | None = None
    reset: bool = False
    latency: float = 0.0
    times: int | None = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        return (self.method is None or self.method.upper() == method) and (
            self.path_regex is None or re.search(self.path_regex, path) is not None
        )


@dataclass
class Faults:
    """The rules of one cluster; thread-safe."""

    rules: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        *,
        method: str | None = None,
        path_regex: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        reset: bool = False,
        latency: float = 0.0,
        times: int | None = 1,
    ) -> Fault:
        """Add a rule; returns it (its ``hits`` counts the requests it took)."""
        rule = Fault(method, path_regex, status, retry_after, reset=reset, latency=latency, times=times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> Fault | None:
        """The first live rule matching the request, consuming one of its ``times``."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path) and (rule.times is None or rule.hits < rule.times):
                    rule.hits += 1
                    return rule
        return None

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules.clear()
