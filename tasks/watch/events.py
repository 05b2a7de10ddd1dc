"""What a watcher reports: one change of one source object, keyed by (API group, plural, name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drsyncer.kube.discovery import ApiResource
from drsyncer.objects import KubeObject

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
ObjectKey = tuple[str, str, str]
"""(API group, resource plural, object name): one object of the watched namespace."""


@dataclass(frozen=True)
class WatchEvent:
    """A change of one source object; ``obj`` is its latest state (its last state for DELETED)."""

    type: EventType
    resource: ApiResource
    name: str
    obj: KubeObject

    @property
    def key(self) -> ObjectKey:
        """The object this event is about."""
        return (self.resource.group, self.resource.plural, self.name)
