"""Read server-side-apply ``managedFields`` (FieldsV1) into field paths.

The planner needs to know which fields of a live DR object dr-syncer owns (field manager ``dr-syncer``,
operation ``Apply``): an owned field missing from the desired object is removed by the next apply, so the
object is not unchanged. FieldsV1 is a trie: ``f:<name>`` a map field, ``k:{json}`` a list item by key
fields, ``v:<json>`` a set item by value, ``i:<n>`` a list item by index, and ``.`` the node itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drsyncer.labels import FIELD_MANAGER
from drsyncer.objects import KubeObject
from tasks.field_paths import MISSING, FieldPath, format_path


@dataclass(frozen=True)
class ListKey:
    """A list item picked by its key fields (``k:{"name":"web"}``)."""

    fields: tuple[tuple[str, Any], ...]

    def __str__(self) -> str:
        return "[" + ",".join(f"{name}={value}" for name, value in self.fields) + "]"


@dataclass(frozen=True)
class SetValue:
    """A set-like list item picked by its value (``v:"a"``)."""

    value: Any

    def __str__(self) -> str:
        return f"[={self.value}]"


ManagedStep = str | int | ListKey | SetValue
ManagedPath = tuple[ManagedStep, ...]


def _step(key: str) -> ManagedStep:
    prefix, _, rest = key.partition(":")
    if prefix == "f":
        return rest
    if prefix == "i":
        return int(rest)
    if prefix == "k":
        loaded = json.loads(rest)
        return ListKey(fields=tuple(sorted((str(name), value) for name, value in loaded.items())))
    if prefix == "v":
        return SetValue(value=json.loads(rest))
    raise ValueError(f"unknown FieldsV1 key {key!r}")


def fields_v1_paths(fields: dict[str, Any], prefix: ManagedPath = ()) -> list[ManagedPath]:
    """Return every owned leaf path in a FieldsV1 trie (a node marked ``.`` counts as a leaf too)."""
    paths: list[ManagedPath] = []
    for key, child in fields.items():
        if key == ".":
            paths.append(prefix)
            continue
        path = (*prefix, _step(key))
        if isinstance(child, dict) and child:
            paths.extend(fields_v1_paths(child, path))
        else:
            paths.append(path)
    return paths


def owned_paths(live: KubeObject, *, manager: str = FIELD_MANAGER) -> list[ManagedPath]:
    """Return the paths ``manager`` owns through server-side apply in ``live`` (sorted, no duplicates)."""
    paths: set[ManagedPath] = set()
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            paths.update(fields_v1_paths(entry.get("fieldsV1") or {}))
    return sorted(paths, key=str)


def is_managed_by(live: KubeObject, *, manager: str = FIELD_MANAGER) -> bool:
    """True when ``manager`` has an ``Apply`` entry in ``live``'s managedFields."""
    return any(
        entry.get("manager") == manager and entry.get("operation") == "Apply"
        for entry in (live.get("metadata") or {}).get("managedFields") or []
    )


def resolve(obj: Any, path: ManagedPath) -> tuple[Any, FieldPath]:
    """Follow ``path`` in ``obj``; return the value (or ``MISSING``) and the concrete field path."""
    current: Any = obj
    concrete: list[str | int] = []
    for step in path:
        if isinstance(step, str):
            if not isinstance(current, dict) or step not in current:
                return MISSING, tuple(concrete)
            current = current[step]
            concrete.append(step)
            continue
        index = _list_index(current, step)
        if index is None:
            return MISSING, tuple(concrete)
        current = current[index]
        concrete.append(index)
    return current, tuple(concrete)


def _list_index(items: Any, step: ManagedStep) -> int | None:
    if not isinstance(items, list):
        return None
    if isinstance(step, int):
        return step if 0 <= step < len(items) else None
    for index, item in enumerate(items):
        if isinstance(step, SetValue) and item == step.value:
            return index
        if isinstance(step, ListKey) and isinstance(item, dict) and _has_key(item, step, strict=True):
            return index
    if isinstance(step, ListKey):
        # A key field the server defaulted (e.g. a port's ``protocol``) may be absent from a desired item.
        for index, item in enumerate(items):
            if isinstance(item, dict) and _has_key(item, step, strict=False):
                return index
    return None


def _has_key(item: dict[str, Any], key: ListKey, *, strict: bool) -> bool:
    present = [(name, value) for name, value in key.fields if name in item]
    if strict and len(present) != len(key.fields):
        return False
    return bool(present) and all(item[name] == value for name, value in present)


def describe(path: ManagedPath) -> str:
    """Render a managed path for people (list items by their keys)."""
    text = ""
    for step in path:
        if isinstance(step, str):
            text += format_path((step,)) if not text else format_path(("x", step))[1:]
        else:
            text += str(step)
    return text


PEOPLE_MANAGER_PREFIXES = ("kubectl",)
"""Field managers of people's tools: a value they set in DR by hand is taken back by the next sync."""


def controller_owned_paths(
    live: KubeObject, *, manager: str = FIELD_MANAGER
) -> list[tuple[ManagedPath, str]]:
    """Paths of ``live`` that the DR cluster's own controllers own, with the owning manager's name.

    A controller is any field manager other than dr-syncer's own (``manager`` and its ``-operations``
    sibling, i.e. names starting with ``manager``) and people's tools (``kubectl...``): the Deployment
    controller (``kube-controller-manager``), an operator, a scaler. Fields dr-syncer owns as well are
    left out (shared ownership means the values agree).
    """
    ours = set(owned_paths(live, manager=manager))
    found: dict[ManagedPath, str] = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        name = str(entry.get("manager") or "")
        if name.startswith(manager) or name.startswith(PEOPLE_MANAGER_PREFIXES):
            continue
        if entry.get("subresource") not in (None, ""):
            continue
        for path in fields_v1_paths(entry.get("fieldsV1") or {}):
            if path not in ours:
                found.setdefault(path, name)
    return sorted(found.items(), key=lambda item: str(item[0]))
