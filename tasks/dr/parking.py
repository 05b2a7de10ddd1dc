"""Scalers and custom workload kinds during a DR operation: unpark at cutover, park again at failback.

The sync lands KEDA ScaledObjects paused and the ``workloadParking`` kinds at rest
(:mod:`tasks.transform.parking`), recording what the source had. Cutover starts the DR side:
:func:`unpark_side` restores those records (replica field back to ``original-replicas``, annotations back
to the source's own values, the record removed). Failback stops the DR side again: :func:`park_side`
re-applies the parking, recording the current values. Only the kinds the side's cluster serves, and only
objects the mapping syncs (its filters), are touched. Patches are JSON merge patches built by pure
functions (``*_patch``) with field manager ``dr-syncer-operations``.
"""

from __future__ import annotations

from typing import Any

from drsyncer import labels
from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import ClusterError
from drsyncer.kube.discovery import ApiResource, Discovery
from drsyncer.objects import KubeObject, object_name
from tasks.dr.workloads import OPERATIONS_MANAGER, Side
from tasks.field_paths import MISSING, FieldPath, format_path, lookup
from tasks.filter.rules import skip_reason
from tasks.mapping_contexts import filter_context, transform_context
from tasks.transform.context import WorkloadParking
from tasks.transform.parking import original_annotations, parse_recorded_annotations, record_text

DEFAULT_COUNT = 1


def _nested(path: FieldPath, value: Any) -> dict[str, Any]:
    patch: Any = value
    for part in reversed(path):
        patch = {part: patch}
    result: dict[str, Any] = patch
    return result


def _count(value: Any) -> int | None:
    try:
        count = int(str(value).strip())
    except ValueError:
        return None
    return count if count >= 0 else None


def _annotations(obj: KubeObject) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _merge(*patches: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for patch in patches:
        _merge_into(merged, patch)
    return merged


def _merge_into(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


def unpark_patch(obj: KubeObject, parking: WorkloadParking) -> tuple[dict[str, Any] | None, str]:
    """The patch that starts one parked object again, and a word on what it does."""
    patches: list[dict[str, Any]] = []
    words: list[str] = []
    if parking.replicas_path is not None:
        wanted = _count(_annotations(obj).get(labels.ORIGINAL_REPLICAS))
        current = lookup(obj, parking.replicas_path)
        if wanted is not None and current != wanted:
            patches.append(_nested(parking.replicas_path, wanted))
            words.append(f"{format_path(parking.replicas_path)} {current} → {wanted}")
    recorded = parse_recorded_annotations(obj)
    if parking.annotations and recorded is not None:
        restore: dict[str, Any] = {key: recorded.get(key) for key, _ in parking.annotations}
        restore[labels.PARKED_ANNOTATIONS] = None
        patches.append({"metadata": {"annotations": restore}})
        words.append("resumed")
    if not patches:
        return None, "unchanged"
    return _merge(*patches), ", ".join(words)


def park_patch(obj: KubeObject, parking: WorkloadParking) -> tuple[dict[str, Any] | None, str]:
    """The patch that parks one object (as the sync lands it), and a word on what it does."""
    patches: list[dict[str, Any]] = []
    words: list[str] = []
    if parking.replicas_path is not None:
        current = lookup(obj, parking.replicas_path)
        count = DEFAULT_COUNT if current is MISSING or current is None else _count(current)
        if count:
            original = {"metadata": {"annotations": {labels.ORIGINAL_REPLICAS: str(count)}}}
            patches.extend([_nested(parking.replicas_path, 0), original])
            words.append(f"{format_path(parking.replicas_path)} {count} → 0")
    if parking.annotations:
        current_annotations = _annotations(obj)
        if any(current_annotations.get(key) != value for key, value in parking.annotations):
            values: dict[str, Any] = dict(parking.annotations)
            values[labels.PARKED_ANNOTATIONS] = record_text(original_annotations(obj, parking))
            patches.append({"metadata": {"annotations": values}})
            words.append("paused")
    if not patches:
        return None, "unchanged"
    return _merge(*patches), ", ".join(words)


def _resource(discovery: Discovery, parking: WorkloadParking) -> ApiResource | None:
    try:
        resources = discovery.resources(parking.group)
    except ClusterError:
        return None
    return next((resource for resource in resources if resource.kind == parking.kind), None)


def _each_parked(
    side: Side, mapping: EffectiveMapping
) -> list[tuple[ApiResource, KubeObject, WorkloadParking]]:
    """The side's objects of every parking kind its cluster serves, that the mapping syncs."""
    discovery = Discovery(side.client)
    filters = filter_context(mapping)
    found = []
    for parking in transform_context(mapping).workload_parking:
        resource = _resource(discovery, parking)
        if resource is None:
            continue
        items, _ = side.client.list(resource.path(side.namespace))
        for item in sorted(items, key=object_name):
            item.setdefault("kind", parking.kind)
            item.setdefault("apiVersion", resource.api_version)
            if skip_reason(item, filters) is None:
                found.append((resource, item, parking))
    return found


def _apply(side: Side, mapping: EffectiveMapping, *, park: bool) -> dict[str, str]:
    changes: dict[str, str] = {}
    for resource, obj, parking in _each_parked(side, mapping):
        patch, change = park_patch(obj, parking) if park else unpark_patch(obj, parking)
        if patch is not None:
            side.client.patch(
                resource.path(side.namespace, object_name(obj)), patch, field_manager=OPERATIONS_MANAGER
            )
        changes[f"{parking.kind}/{object_name(obj)}"] = change
    return changes


def unpark_side(side: Side, mapping: EffectiveMapping) -> dict[str, str]:
    """Start every parked scaler and custom workload of the side; ``Kind/name`` → what changed."""
    return _apply(side, mapping, park=False)


def park_side(side: Side, mapping: EffectiveMapping) -> dict[str, str]:
    """Park every scaler and custom workload of the side; ``Kind/name`` → what changed."""
    return _apply(side, mapping, park=True)
