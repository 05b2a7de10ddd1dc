"""How each built-in list and map merges: the schema facts behind strategic merge and server-side apply.

A real kube-apiserver reads these facts from Go struct tags (``patchMergeKey``, ``patchStrategy``) for
strategic merge patch and from OpenAPI extensions (``x-kubernetes-list-type``, ``-list-map-keys``,
``-map-type``) for server-side apply. The sandbox has no Go types, so this module is the table: for a
field path (field names only, list items skipped) it answers how the list there merges.

Consumers: ``patching`` (strategic merge) and ``field_management`` (server-side apply). Anything not in
the table is *atomic*: a list is replaced as a whole, exactly as the real server treats lists without a
merge key. Custom resources get no table at all (strategic merge answers 415 for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldPath = tuple[str, ...]
"""Field names from the object root, list items skipped: ``("spec", "containers", "env")``."""

ListType = Literal["map", "set", "atomic"]


@dataclass(frozen=True)
class ListSchema:
    """How one list merges.

    Attributes:
        patch_merge_key: strategic-merge key of a list of maps ('' when none).
        patch_merge: strategic merge merges this list (by key, or as a set of scalars) instead of replacing.
        list_type: server-side-apply list type: ``map`` (items keyed), ``set`` (scalars), ``atomic``.
        map_keys: server-side-apply keys of a ``map`` list, in the order the real schema declares them.
    """

    patch_merge_key: str = ""
    patch_merge: bool = False
    list_type: ListType = "atomic"
    map_keys: tuple[str, ...] = ()


ATOMIC = ListSchema()
"""Lists without a merge key: replaced whole by every patch type and owned whole by apply."""

KEY_DEFAULTS: dict[str, object] = {"protocol": "TCP"}
"""Defaults the real schema declares for list-map key fields (apply fills them when absent)."""


def _keyed(merge_key: str, *ssa_keys: str) -> ListSchema:
    return ListSchema(
        patch_merge_key=merge_key, patch_merge=True, list_type="map", map_keys=ssa_keys or (merge_key,)
    )


_SCALAR_SET = ListSchema(patch_merge=True, list_type="set")

_CONTAINER_LISTS: dict[FieldPath, ListSchema] = {
    ("env",): _keyed("name"),
    ("ports",): _keyed("containerPort", "containerPort", "protocol"),
    ("volumeMounts",): _keyed("mountPath"),
    ("volumeDevices",): _keyed("devicePath"),
    ("resizePolicy",): ATOMIC,
    ("envFrom",): ATOMIC,
}

_POD_SPEC_LISTS: dict[FieldPath, ListSchema] = {
    ("volumes",): _keyed("name"),
    ("imagePullSecrets",): _keyed("name"),
    ("hostAliases",): _keyed("ip"),
    ("topologySpreadConstraints",): _keyed("topologyKey", "topologyKey", "whenUnsatisfiable"),
    ("resourceClaims",): _keyed("name"),
    ("schedulingGates",): _keyed("name"),
    ("tolerations",): ATOMIC,
    ("readinessGates",): ATOMIC,
}
for _containers in ("containers", "initContainers", "ephemeralContainers"):
    _POD_SPEC_LISTS[(_containers,)] = _keyed("name")
    for _sub, _schema in _CONTAINER_LISTS.items():
        _POD_SPEC_LISTS[(_containers, *_sub)] = _schema

_OBJECT_LISTS: dict[FieldPath, ListSchema] = {
    ("metadata", "finalizers"): _SCALAR_SET,
    ("metadata", "ownerReferences"): _keyed("uid"),
    ("status", "conditions"): _keyed("type"),
}

POD_SPEC_PATHS: dict[str, tuple[FieldPath, ...]] = {
    "Pod": (("spec",),),
    "PodTemplate": (("template", "spec"),),
    "ReplicationController": (("spec", "template", "spec"),),
    "Deployment": (("spec", "template", "spec"),),
    "ReplicaSet": (("spec", "template", "spec"),),
    "StatefulSet": (("spec", "template", "spec"),),
    "DaemonSet": (("spec", "template", "spec"),),
    "Job": (("spec", "template", "spec"),),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "spec"),),
}
"""Where each workload kind carries a PodSpec."""

_KIND_LISTS: dict[str, dict[FieldPath, ListSchema]] = {
    "Service": {
        ("spec", "ports"): _keyed("port", "port", "protocol"),
        ("spec", "clusterIPs"): ATOMIC,
        ("spec", "ipFamilies"): ATOMIC,
        ("spec", "externalIPs"): ATOMIC,
        ("status", "loadBalancer", "ingress"): ATOMIC,
    },
    "Node": {
        ("spec", "podCIDRs"): _SCALAR_SET,
        ("spec", "taints"): ATOMIC,
        ("status", "addresses"): _keyed("type"),
    },
    "Pod": {
        ("status", "podIPs"): ListSchema(patch_merge_key="ip", patch_merge=True, list_type="atomic"),
    },
    "StatefulSet": {("spec", "volumeClaimTemplates"): ATOMIC},
    "Job": {("status", "conditions"): ListSchema(patch_merge_key="type", patch_merge=True)},
}

ATOMIC_MAP_FIELDS = frozenset(
    {"selector", "labelSelector", "namespaceSelector", "podSelector", "nodeSelector"}
)
"""Built-in map fields that apply owns as a whole (``+structType=atomic`` / ``+mapType=atomic``)."""

FREE_FORM_MAP_FIELDS = frozenset(
    {"labels", "annotations", "data", "binaryData", "stringData", "limits", "requests", "parameters"}
)
"""Built-in maps with arbitrary keys (``map[string]...`` in Go) rather than structs with named fields."""

VALUE_STRUCT_FIELDS = frozenset(
    {
        "metadata",
        "spec",
        "status",
        "template",
        "jobTemplate",
        "strategy",
        "updateStrategy",
        "resources",
        "roleRef",
    }
)
"""Built-in struct fields Go holds by value: a zero object already has them, so a create does not add them.

Every other struct field is a pointer (``securityContext``, ``rollingUpdate``, ``affinity``...), absent in a
zero value and therefore *added* (and owned, ``.`` included) by whoever creates the object.
"""

NON_OMITTED_LISTS = frozenset({"containers"})
"""Struct-level lists a Go zero value serialises (as ``null``): not "added" when an object is created."""

BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "admissionregistration.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
    }
)
"""API groups served by compiled-in Go types (everything else is a custom resource)."""


def api_group(api_version: str) -> str:
    """Return the group of ``apiVersion`` ('' for the core group ``v1``)."""
    return api_version.rpartition("/")[0]


def is_builtin(api_version: str) -> bool:
    """Tell whether ``apiVersion`` belongs to a compiled-in group (not a custom resource)."""
    return api_group(api_version) in BUILTIN_GROUPS


def supports_strategic_merge(api_version: str, kind: str) -> bool:
    """Tell whether the real server accepts strategic merge patch for this kind (not for custom resources)."""
    return bool(kind) and is_builtin(api_version)


def list_schema(api_version: str, kind: str, path: FieldPath) -> ListSchema:
    """Return how the list at ``path`` merges for this kind (``ATOMIC`` when the table has no entry)."""
    if not is_builtin(api_version):
        return ATOMIC
    kind_lists = _KIND_LISTS.get(kind, {})
    if path in kind_lists:
        return kind_lists[path]
    if path in _OBJECT_LISTS:
        return _OBJECT_LISTS[path]
    for prefix in POD_SPEC_PATHS.get(kind, ()):
        if path[: len(prefix)] == prefix and path[len(prefix) :] in _POD_SPEC_LISTS:
            return _POD_SPEC_LISTS[path[len(prefix) :]]
    return ATOMIC


def map_is_atomic(api_version: str, kind: str, path: FieldPath) -> bool:
    """Tell whether apply owns the map at ``path`` as one leaf (label selectors, Service selector...)."""
    if not is_builtin(api_version) or not path or path[0] == "metadata":
        return False
    return path[-1] in ATOMIC_MAP_FIELDS


def map_is_free_form(api_version: str, kind: str, path: FieldPath) -> bool:
    """Tell whether the map at ``path`` has arbitrary keys (labels, data...) rather than named fields."""
    del kind
    if not path:
        return False
    if path[-1] in ("labels", "annotations") and len(path) >= 2 and path[-2] == "metadata":
        return True
    return is_builtin(api_version) and path[-1] in FREE_FORM_MAP_FIELDS
