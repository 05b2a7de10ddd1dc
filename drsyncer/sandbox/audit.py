"""The audit log: every request a sandbox cluster answered, for tests to assert on.

Each entry records method, path, query, body (parsed on first access), user agent, content type and
response status.
``mutations()`` is what tests usually want ("plan sends zero mutating requests"): POST, PUT, PATCH and
DELETE, excluding ``dryRun`` requests.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class AuditEntry:
    """One request and the status it got."""

    method: str
    path: str
    query: dict[str, str]
    raw_body: bytes
    user_agent: str
    content_type: str
    status: int
    timestamp: float = 0.0

    @cached_property
    def body(self) -> Any:
        """The request body, parsed (JSON or YAML; the text when unparseable; None when empty)."""
        if not self.raw_body:
            return None
        try:
            if "yaml" in self.content_type:
                return yaml.safe_load(self.raw_body)
            return json.loads(self.raw_body)
        except (ValueError, yaml.YAMLError):
            return self.raw_body.decode(errors="replace")

    @property
    def dry_run(self) -> bool:
        """Whether the request carried ``dryRun``."""
        return bool(self.query.get("dryRun"))

    @property
    def is_mutation(self) -> bool:
        """A write that was not a dry run."""
        return self.method in MUTATING and not self.dry_run


@dataclass
class AuditLog:
    """Thread-safe list of :class:`AuditEntry`."""

    entries: list[AuditEntry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        with self._lock:
            self.entries.append(entry)

    def requests(
        self,
        *,
        method: str | None = None,
        path_regex: str | None = None,
        status: int | None = None,
        user_agent_regex: str | None = None,
    ) -> list[AuditEntry]:
        """Entries matching every given filter (``path_regex`` uses ``re.search``)."""
        with self._lock:
            entries = list(self.entries)
        return [
            e
            for e in entries
            if (method is None or e.method == method.upper())
            and (path_regex is None or re.search(path_regex, e.path))
            and (status is None or e.status == status)
            and (user_agent_regex is None or re.search(user_agent_regex, e.user_agent))
        ]

    def mutations(self, *, path_regex: str | None = None) -> list[AuditEntry]:
        """POST/PUT/PATCH/DELETE requests that were not dry runs."""
        return [e for e in self.requests(path_regex=path_regex) if e.is_mutation]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self.entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self.entries)
