"""Field diff between a desired DR object and the live one, under server-side-apply semantics.

The planner asks one question per object: would applying ``desired`` change ``live``? With server-side
apply the server keeps fields others set and fills defaults, so ``live`` normally holds *more* than
``desired``. A desired field is satisfied when ``live`` has an equal value: maps by subset, lists by same
length and element-wise subset (defaults appear inside list items), scalars by equality, resource
quantities by value. Missing empty maps and lists count as equal to absent ones (the server drops them).
Keyed lists of built-in kinds (containers, env, volumes, ports, ... — ``list_keys``) are compared item by
item by key, as apply merges them: an item another writer added in DR (a webhook's sidecar or env var) is
not a difference. Secret values never appear in a diff: they are shown as ``(changed)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tasks.field_paths import MISSING, FieldPath, format_path
from tasks.plan.list_keys import item_key, list_keys
from tasks.transform.quantities import same_quantity

Change = Literal["added", "changed", "removed"]
MASK = "(changed)"
QUANTITY_PARENTS = frozenset({"requests", "limits", "capacity", "hard", "allocatable"})
SECRET_VALUE_FIELDS = frozenset({"data", "stringData"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: its path, the live value (``before``) and the desired one (``after``).

    ``before`` is None for an added field, ``after`` None for a removed one.
    """

    path: str
    before: Any
    after: Any
    change: Change


def _is_empty(value: Any) -> bool:
    return value is None or value in ({}, [])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def field_differences(
    desired: Any, live: Any, path: FieldPath = (), *, kind: str | None = None
) -> list[tuple[FieldPath, Any, Any]]:
    """Return ``(path, live value, desired value)`` for every desired field ``live`` does not satisfy.

    ``kind`` (default: the desired object's own ``kind``) decides which lists are keyed. Paths into a
    keyed list use the desired item's index.
    """
    if kind is None:
        kind = str(desired.get("kind", "")) if isinstance(desired, dict) and not path else ""
    if isinstance(desired, dict):
        if live is MISSING and _is_empty(desired):
            return []
        if not isinstance(live, dict):
            return [(path, live, desired)]
        differences = []
        for key in desired:
            differences.extend(
                field_differences(desired[key], live.get(key, MISSING), (*path, key), kind=kind)
            )
        return differences
    if isinstance(desired, list):
        if live is MISSING and not desired:
            return []
        keyed = _keyed_differences(desired, live, path, kind=kind)
        if keyed is not None:
            return keyed
        if not isinstance(live, list) or len(live) != len(desired):
            return [(path, live, desired)]
        differences = []
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            differences.extend(field_differences(want, have, (*path, index), kind=kind))
        return differences
    if live is MISSING and desired is None:
        return []
    if desired == live and type(desired) is type(live):
        return []
    if _is_number(desired) and _is_number(live) and desired == live:
        return []
    if _is_quantity_field(path) and same_quantity(desired, live):
        return []
    return [(path, live, desired)]


def _keyed_differences(
    desired: list[Any], live: Any, path: FieldPath, *, kind: str
) -> list[tuple[FieldPath, Any, Any]] | None:
    """Compare a keyed list item by item by key; None when the list is not keyed (or not keyable)."""
    keys = list_keys(kind, path)
    if keys is None or not isinstance(live, list):
        return None
    desired_keys = [item_key(item, keys) for item in desired]
    if None in desired_keys or len(set(desired_keys)) != len(desired_keys):
        return None
    live_by_key = {item_key(item, keys): item for item in live}
    differences = []
    for index, (want, key) in enumerate(zip(desired, desired_keys, strict=True)):
        differences.extend(field_differences(want, live_by_key.get(key, MISSING), (*path, index), kind=kind))
    return differences


def _is_quantity_field(path: FieldPath) -> bool:
    """True for ``...requests.<resource>``-like fields, whose values the server may re-spell."""
    return len(path) >= 2 and path[-2] in QUANTITY_PARENTS


def _masked(kind: str, path: FieldPath, value: Any) -> Any:
    if value is MISSING or value is None:
        return None
    if kind != "Secret":
        return value
    return _mask_secret(path, value)


def _mask_secret(path: FieldPath, value: Any) -> Any:
    """Replace Secret values (``data``, ``stringData``, kubectl's last-applied copy) with ``(changed)``."""
    if path and path[0] in SECRET_VALUE_FIELDS:
        return MASK
    if path and path[-1] == LAST_APPLIED:
        return MASK
    if isinstance(value, dict):
        return {key: _mask_secret((*path, key), item) for key, item in value.items()}
    return value


def make_field_diff(kind: str, path: FieldPath, before: Any, after: Any) -> FieldDiff:
    """Build a ``FieldDiff`` for ``kind``, masking Secret values and classifying the change."""
    change: Change = (
        "added" if before is MISSING or before is None else "removed" if after is MISSING else "changed"
    )
    return FieldDiff(
        path=format_path(path) or "(object)",
        before=_masked(kind, path, before),
        after=_masked(kind, path, after),
        change=change,
    )
