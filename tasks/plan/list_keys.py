"""Which lists of a built-in object are keyed, and by what: the planner compares them item by item.

Server-side apply merges the lists the Kubernetes schema marks ``x-kubernetes-list-type: map`` by their
key fields (containers by ``name``, env by ``name``, volume mounts by ``mountPath``, ...): an item
another writer added in DR — a sidecar a mutating webhook injects, an env var — stays when dr-syncer
applies, because dr-syncer does not own it. The planner must see those lists the same way, or every
re-sync would find "a different list" and write again. Lists not named here are compared whole and in
order (the schema's atomic lists). Custom resources have no table: their lists are atomic unless their
CRD says otherwise, so they are compared whole.
"""

from __future__ import annotations

from typing import Any

from tasks.field_paths import FieldPath

KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}
"""Key fields the API server defaults when a list item omits them."""

_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_KEYS_BY_FIELD: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_CONTAINER_LISTS, ("name",)),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "volumes": ("name",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "resourceClaims": ("name",),
    "schedulingGates": ("name",),
}
"""Keyed lists of a pod spec and its containers, by field name."""

KEYED_KINDS = frozenset(
    {
        "Pod",
        "PodTemplate",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "Service",
        "ServiceAccount",
    }
)
"""Built-in kinds whose pod specs (and, for Services, ports; ServiceAccounts, secrets) hold keyed lists."""


def list_keys(kind: str, path: FieldPath) -> tuple[str, ...] | None:
    """Return the key fields of the list at ``path`` in an object of ``kind``, or None when atomic.

    Args:
        kind: The object's kind (custom resources always get None).
        path: Where the list is, e.g. ``("spec", "template", "spec", "containers")``.
    """
    if kind not in KEYED_KINDS or not path or not isinstance(path[-1], str):
        return None
    name = path[-1]
    if kind == "Service":
        return ("port", "protocol") if path == ("spec", "ports") else None
    if kind == "ServiceAccount":  # imagePullSecrets is atomic here, unlike a pod spec's
        return ("name",) if path == ("secrets",) else None
    if name == "ports":
        inside_container = len(path) >= 3 and isinstance(path[-2], int) and path[-3] in _CONTAINER_LISTS
        return ("containerPort", "protocol") if inside_container else None
    return _KEYS_BY_FIELD.get(name)


def item_key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The key of one list item (defaults filled in), or None when the item is not keyable."""
    if not isinstance(item, dict):
        return None
    values = tuple(item.get(key, KEY_DEFAULTS.get(key)) for key in keys)
    return None if values[0] is None else values
