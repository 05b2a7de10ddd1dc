"""Edits: what a transformation rule asks for, as data.

Rules never change an object; they return a list of ``SetField`` / ``RemoveField`` edits, each with a
short note for people. ``runner.transform_object`` applies them to a copy with ``apply_edit`` and keeps
those that changed something as the object's change record.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from drsyncer.objects import KubeObject
from tasks.field_paths import MISSING, FieldPath, lookup


@dataclass(frozen=True)
class SetField:
    """Set the field at ``path`` to ``value``, creating missing maps on the way."""

    path: FieldPath
    value: Any
    note: str


@dataclass(frozen=True)
class RemoveField:
    """Remove the field at ``path``; maps left empty by the removal are removed too."""

    path: FieldPath
    note: str


Edit = SetField | RemoveField


def apply_edit(obj: KubeObject, edit: Edit) -> bool:
    """Apply ``edit`` to ``obj`` in place; return whether anything changed."""
    if isinstance(edit, SetField):
        return _set(obj, edit.path, edit.value)
    return _remove(obj, edit.path)


def _set(obj: KubeObject, path: FieldPath, value: Any) -> bool:
    current = lookup(obj, path)
    if current is not MISSING and current == value and type(current) is type(value):
        return False
    parent: Any = obj
    for part in path[:-1]:
        if isinstance(part, str) and not isinstance(parent.get(part), dict | list):
            parent[part] = {}
        parent = parent[part]
    parent[path[-1]] = copy.deepcopy(value)
    return True


def _remove(obj: KubeObject, path: FieldPath) -> bool:
    if lookup(obj, path) is MISSING:
        return False
    parent = lookup(obj, path[:-1])
    del parent[path[-1]]
    for depth in range(len(path) - 1, 0, -1):
        container = lookup(obj, path[:depth])
        if not (isinstance(container, dict) and not container):
            break
        del lookup(obj, path[: depth - 1])[path[depth - 1]]
    return True
