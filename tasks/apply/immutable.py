"""What to do when the DR cluster answers 422 "field is immutable" (``immutableResourceConfig``).

The strategy is chosen in DR-Syncer's order of priority:

1. the object's label ``dr-syncer.io/immutable-handling`` (``no-change``, ``recreate``,
   ``recreate-with-drain``, ``partial-update``, ``force-update``);
2. ``resourceOverrides``, keyed ``resource.group`` (``statefulsets.apps``) or ``Kind.group``
   (``StatefulSet.apps``) — both spellings DR-Syncer documented are accepted; core kinds by plural or Kind;
3. ``defaultHandling`` (default ``NoChange``).

``PartialUpdate`` keeps the live values of the fields the API server will not change
(:func:`keep_immutable_fields`) and applies the rest. A RoleBinding's or ClusterRoleBinding's ``roleRef``
counts as immutable too (the API server answers 422 ``cannot change roleRef``).
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.config.namespace_mapping import ImmutableResourceConfig, ImmutableResourceHandling
from drsyncer.labels import IMMUTABLE_HANDLING
from drsyncer.objects import KubeObject

LABEL_VALUES = {
    "no-change": ImmutableResourceHandling.NoChange,
    "recreate": ImmutableResourceHandling.Recreate,
    "recreate-with-drain": ImmutableResourceHandling.RecreateWithPodDrain,
    "partial-update": ImmutableResourceHandling.PartialUpdate,
    "force-update": ImmutableResourceHandling.ForceUpdate,
}

# Spec fields the API server refuses to change, per kind (paths under the object).
IMMUTABLE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Service": (("spec", "clusterIP"), ("spec", "clusterIPs")),
    "Deployment": (("spec", "selector"),),
    "ReplicaSet": (("spec", "selector"),),
    "DaemonSet": (("spec", "selector"),),
    "StatefulSet": (
        ("spec", "selector"),
        ("spec", "serviceName"),
        ("spec", "volumeClaimTemplates"),
        ("spec", "podManagementPolicy"),
    ),
    "Job": (("spec", "selector"), ("spec", "template"), ("spec", "completionMode")),
    "PersistentVolumeClaim": (
        ("spec", "accessModes"),
        ("spec", "storageClassName"),
        ("spec", "volumeName"),
        ("spec", "volumeMode"),
        ("spec", "selector"),
        ("spec", "dataSource"),
        ("spec", "dataSourceRef"),
    ),
    "Secret": (("type",), ("data",), ("stringData",)),
    "ConfigMap": (("data",), ("binaryData",)),
    "RoleBinding": (("roleRef",),),
    "ClusterRoleBinding": (("roleRef",),),
}


def choose_strategy(
    obj: KubeObject, *, group: str, plural: str, config: ImmutableResourceConfig
) -> ImmutableResourceHandling:
    """The strategy for ``obj`` (label, then overrides, then the default)."""
    label = ((obj.get("metadata") or {}).get("labels") or {}).get(IMMUTABLE_HANDLING)
    if label in LABEL_VALUES:
        return LABEL_VALUES[label]
    kind = str(obj.get("kind", ""))
    candidates = (
        [f"{plural}.{group}", f"{kind}.{group}"] if group else [plural, kind, f"{plural}.", f"{kind}."]
    )
    overrides = {key.lower(): value for key, value in (config.resource_overrides or {}).items()}
    for candidate in candidates:
        if candidate.lower() in overrides:
            return overrides[candidate.lower()]
    return config.default_handling


def keep_immutable_fields(desired: KubeObject, live: KubeObject) -> KubeObject:
    """``desired`` with the live values of the fields its kind cannot change in place."""
    result = copy.deepcopy(desired)
    for path in IMMUTABLE_PATHS.get(str(desired.get("kind", "")), ()):
        _set_path(result, path, _get_path(live, path))
    return result


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return copy.deepcopy(obj)


def _set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    *parents, leaf = path
    for key in parents:
        obj = obj.setdefault(key, {})
    if value is None:
        obj.pop(leaf, None)
    else:
        obj[leaf] = value
