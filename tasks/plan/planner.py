"""The planner: create, update, unchanged, prune or skip, per object, decided without any request.

``plan_namespace`` pairs the desired DR objects (filtered and transformed source objects) with the live
objects of the DR namespace by (API group, kind, name) and asks ``plan_object`` about each pair. An object
is *unchanged* when applying it would change nothing: every desired field is already satisfied by the live
object (``diff.field_differences``) and no field dr-syncer owns there (``managed_fields``) is missing from
the desired object — such a field would be removed by the next apply. That is what makes a re-sync with
nothing changed send zero mutating requests. Entries come back in apply order, prunes last in reverse.

Fields the DR cluster's own controllers have taken over (``managed_fields.controller_owned_paths``: the
Deployment controller's revision, an operator's defaults) are neither compared nor sent: ``yield_to_dr_
controllers`` leaves them to their owner, except the fields that keep a DR copy at rest (replicas,
suspend, dr-syncer's own annotations), which dr-syncer always takes back.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from drsyncer.labels import FIELD_MANAGER, PARKED, PREFIX
from drsyncer.objects import KubeObject, object_name
from tasks.field_paths import MISSING, FieldPath
from tasks.filter.rules import Skipped
from tasks.order import apply_sort_key, prune_sort_key
from tasks.plan.diff import FieldDiff, field_differences, make_field_diff
from tasks.plan.managed_fields import controller_owned_paths, is_managed_by, owned_paths, resolve
from tasks.transform.edits import RemoveField, apply_edit
from tasks.transform.pvcs import reconcile_pvc_with_live

Action = Literal["create", "update", "unchanged", "prune", "skip"]
ObjectKey = tuple[str, str, str]
PVC = "PersistentVolumeClaim"


@dataclass(frozen=True)
class PlanEntry:
    """What apply (or prune) will do with one object, and why.

    ``obj`` is the object to apply (create/update/unchanged) or to delete (prune); None for skips.
    ``error`` is set when the plan already knows the object cannot be applied (e.g. its storage class
    is missing in DR): apply sends nothing for it and reports it failed with that error.
    """

    kind: str
    name: str
    action: Action
    diff: list[FieldDiff] = field(default_factory=list)
    reason: str = ""
    api_version: str = ""
    obj: KubeObject | None = field(default=None, repr=False, compare=False)
    error: str = ""


def api_group(obj: KubeObject) -> str:
    """The API group of ``obj`` ('' for the core group): ``apps/v1`` → ``apps``."""
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rpartition("/")[0]


def object_key(obj: KubeObject) -> ObjectKey:
    """How desired and live objects are paired: (API group, kind, name), version-independent."""
    return (api_group(obj), str(obj.get("kind", "")), object_name(obj))


def removed_managed_fields(
    desired: KubeObject, live: KubeObject, *, manager: str
) -> list[tuple[FieldPath, Any]]:
    """Fields ``manager`` owns in ``live`` that ``desired`` no longer has: the next apply removes them."""
    removed: list[tuple[FieldPath, Any]] = []
    for managed_path in owned_paths(live, manager=manager):
        live_value, concrete = resolve(live, managed_path)
        if live_value is MISSING or resolve(desired, managed_path)[0] is not MISSING:
            continue
        if any(concrete[: len(earlier)] == earlier for earlier, _ in removed):
            continue
        removed.append((concrete, live_value))
    return removed


AT_REST_FIELDS: frozenset[FieldPath] = frozenset({("spec", "replicas"), ("spec", "suspend")})
"""Fields that keep a DR copy at rest: never left to a DR controller, even one that took them over."""


def _keeps_at_rest(path: FieldPath) -> bool:
    if path in AT_REST_FIELDS or PARKED in path:
        return True
    return len(path) >= 3 and path[:2] == ("metadata", "annotations") and str(path[2]).startswith(PREFIX)


def yield_to_dr_controllers(
    desired: KubeObject,
    live: KubeObject,
    differences: list[tuple[FieldPath, Any, Any]],
    *,
    manager: str = FIELD_MANAGER,
) -> tuple[KubeObject, list[tuple[FieldPath, Any, Any]], list[str]]:
    """Leave to the DR cluster's controllers the differing fields they own in ``live``.

    Returns the desired object without those fields (so an apply does not fight their owner), the
    remaining differences, and the names of the controllers yielded to. Fields that keep the DR copy
    at rest are never yielded. Only for objects dr-syncer already manages: a field it applied and a
    controller then changed has moved to that controller; an object someone else created in DR is
    taken over whole by the first apply.
    """
    owned = controller_owned_paths(live, manager=manager)
    if not owned or not differences:
        return desired, differences, []
    claimed: list[tuple[FieldPath, str]] = []
    for managed_path, owner in owned:
        value, concrete = resolve(desired, managed_path)
        if value is not MISSING:
            claimed.append((concrete, owner))
    kept: list[tuple[FieldPath, Any, Any]] = []
    yielded: list[FieldPath] = []
    owners: list[str] = []
    for difference in differences:
        path = difference[0]
        taken_by = next((name for prefix, name in claimed if path[: len(prefix)] == prefix), None)
        if taken_by is None or _keeps_at_rest(path):
            kept.append(difference)
            continue
        yielded.append(path)
        if taken_by not in owners:
            owners.append(taken_by)
    if not yielded:
        return desired, differences, []
    trimmed = copy.deepcopy(desired)
    for path in sorted(yielded, key=str, reverse=True):
        apply_edit(trimmed, RemoveField(path, "owned by a DR controller"))
    return trimmed, kept, owners


def plan_object(
    desired: KubeObject | None,
    live: KubeObject | None,
    *,
    manager: str = FIELD_MANAGER,
    prune: bool,
) -> PlanEntry:
    """Plan one object from its desired DR form and its live DR form (either may be None, not both)."""
    reference = desired if desired is not None else live
    if reference is None:
        raise ValueError("plan_object needs a desired or a live object")
    kind, name, api_version = (
        str(reference.get("kind", "")),
        object_name(reference),
        str(reference.get("apiVersion", "")),
    )

    def entry(
        action: Action, reason: str, obj: KubeObject | None, diff: list[FieldDiff] | None = None
    ) -> PlanEntry:
        return PlanEntry(kind, name, action, diff or [], reason, api_version, obj)

    if desired is None:
        assert live is not None
        if not is_managed_by(live, manager=manager):
            return entry("skip", f"source object is gone; not managed by {manager}, so never pruned", None)
        if not prune:
            return entry("skip", "source object is gone; pruning is off (prune: false)", None)
        return entry("prune", f"source object is gone and {manager} manages the DR copy", live)
    if live is None:
        return entry("create", "not in the DR namespace", desired)
    differences = field_differences(desired, live)
    controllers: list[str] = []
    if is_managed_by(live, manager=manager):  # an object we do not manage yet is taken over whole
        desired, differences, controllers = yield_to_dr_controllers(
            desired, live, differences, manager=manager
        )
    changes = [make_field_diff(kind, path, before, after) for path, before, after in differences]
    changes.extend(
        make_field_diff(kind, path, before, MISSING)
        for path, before in removed_managed_fields(desired, live, manager=manager)
        if not any(path[: len(changed)] == changed for changed, _, _ in differences)
    )
    left = f" (fields owned by DR's {', '.join(controllers)} left to it)" if controllers else ""
    if not changes:
        return entry("unchanged", f"the DR copy already matches{left}", desired)
    owner = (
        "" if is_managed_by(live, manager=manager) else f"; not yet managed by {manager}, apply takes it over"
    )
    count = len(changes)
    return entry(
        "update",
        f"{count} field{'s' if count != 1 else ''} differ{'s' if count == 1 else ''}{owner}{left}",
        desired,
        changes,
    )


def skipped_entry(skipped: Skipped) -> PlanEntry:
    """The plan entry of a source object the filter stage left out (action ``skip``, the filter's reason)."""
    return PlanEntry(kind=skipped.kind, name=skipped.name, action="skip", reason=skipped.reason)


def plan_namespace(
    desired_objects: Iterable[KubeObject],
    live_objects: Iterable[KubeObject],
    *,
    prune: bool,
    prune_pvcs: bool,
    manager: str = FIELD_MANAGER,
) -> list[PlanEntry]:
    """Plan a whole DR namespace: desired entries in apply order, then prunes/skips in reverse order.

    Live objects with no desired counterpart that dr-syncer does not manage are not listed at all
    (they are not ours: the DR cluster's own ``default`` ServiceAccount, ``kube-root-ca.crt``, ...).
    PVCs are pruned only with ``prune_pvcs``. An existing PVC is planned against
    ``reconcile_pvc_with_live`` (its spec stays, its size only grows).
    """
    live_by_key = {object_key(obj): obj for obj in live_objects}
    planned: list[PlanEntry] = []
    desired_keys: set[ObjectKey] = set()
    for source_form in desired_objects:
        key = object_key(source_form)
        desired_keys.add(key)
        live = live_by_key.get(key)
        desired = source_form
        if live is not None and source_form.get("kind") == PVC:
            desired = reconcile_pvc_with_live(source_form, live)
        planned.append(plan_object(desired, live, manager=manager, prune=prune))
    planned.sort(key=lambda item: apply_sort_key(item.kind, item.name))
    leftovers = []
    for key, live in live_by_key.items():
        if key in desired_keys or not is_managed_by(live, manager=manager):
            continue
        if live.get("kind") == PVC and prune and not prune_pvcs:
            reason = "source claim is gone; PVCs are pruned only with pvcConfig.prunePVCs"
            leftovers.append(
                PlanEntry(PVC, object_name(live), "skip", [], reason, str(live.get("apiVersion", "")))
            )
            continue
        leftovers.append(plan_object(None, live, manager=manager, prune=prune))
    leftovers.sort(key=lambda item: prune_sort_key(item.kind, item.name))
    return planned + leftovers
