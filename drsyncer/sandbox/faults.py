"""Fault injection: make the next N matching requests fail, stall or lose their connection.

``cluster.faults.add(method="GET", path_regex="/configmaps", status=429, retry_after=1, times=2)`` makes
the next two matching requests answer 429 with ``Retry-After: 1`` and a ``TooManyRequests`` Status;
``status=500`` answers InternalError, ``reset=True`` closes the connection without a response (the client
sees a connection reset), ``latency=0.2`` delays the request and then serves it normally, and
``compact=True`` lets the cluster write once more and compact its history just before the request is
served (as etcd compaction does between two pages of a list: the request's continue token expires).
``query_regex`` also matches the raw query string (``query_regex="continue="``: only follow-up pages).
``before=f`` calls ``f()`` when a request matches and then serves it normally (a test's way to change the
world at an exact point of the product's run); ``hits`` tells a test its rule really fired.
Rules are consumed in the order they were added; ``times=None`` never runs out.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
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
    query_regex: str | None = None
    compact: bool = False
    before: Callable[[], None] | None = None

    def matches(self, method: str, path: str, query: str = "") -> bool:
        """Whether this rule applies to a request."""
        return (
            (self.method is None or self.method.upper() == method)
            and (self.path_regex is None or re.search(self.path_regex, path) is not None)
            and (self.query_regex is None or re.search(self.query_regex, query) is not None)
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
        query_regex: str | None = None,
        compact: bool = False,
        before: Callable[[], None] | None = None,
    ) -> Fault:
        """Add a rule; returns it (its ``hits`` counts the requests it took)."""
        rule = Fault(
            method,
            path_regex,
            status,
            retry_after,
            reset=reset,
            latency=latency,
            times=times,
            query_regex=query_regex,
            compact=compact,
            before=before,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def take(self, method: str, path: str, query: str = "") -> Fault | None:
        """The first live rule matching the request, consuming one of its ``times`` (runs its ``before``)."""
        taken: Fault | None = None
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, query) and (rule.times is None or rule.hits < rule.times):
                    rule.hits += 1
                    taken = rule
                    break
        if taken is not None and taken.before is not None:
            taken.before()
        return taken

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules.clear()
