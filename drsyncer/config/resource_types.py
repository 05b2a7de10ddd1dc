"""The resource types a mapping can name, as data, and the normalisation of what users write.

``resourceTypes`` entries may be plural, singular, short names or Kinds, in any case (``ConfigMaps``,
``cm``, ``Deployment``, ``deploy``), or ``resource.group`` for custom resources.
:func:`normalise_resource_types` turns them into canonical lowercase plural names (``configmaps``,
``widgets.example.com``) that discovery uses. Unlike DR-Syncer, an unknown built-in-looking name is an
error (DR-Syncer silently ignored it), and kinds that must never be copied (pods, replicasets, events,
...) are refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One built-in resource: where it lives in the API and the names users may call it by."""

    plural: str
    group: str
    version: str
    kind: str
    singular: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``group/version`` (or just ``version`` for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version


def _rt(
    plural: str, group: str, version: str, kind: str, *short: str, namespaced: bool = True
) -> ResourceType:
    return ResourceType(plural, group, version, kind, kind.lower(), tuple(short), namespaced)


SYNCABLE: dict[str, ResourceType] = {
    rt.plural: rt
    for rt in (
        _rt("configmaps", "", "v1", "ConfigMap", "cm"),
        _rt("secrets", "", "v1", "Secret"),
        _rt("serviceaccounts", "", "v1", "ServiceAccount", "sa"),
        _rt("services", "", "v1", "Service", "svc"),
        _rt("persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", "pvc"),
        _rt("limitranges", "", "v1", "LimitRange", "limits"),
        _rt("resourcequotas", "", "v1", "ResourceQuota", "quota"),
        _rt("roles", "rbac.authorization.k8s.io", "v1", "Role"),
        _rt("rolebindings", "rbac.authorization.k8s.io", "v1", "RoleBinding"),
        _rt("deployments", "apps", "v1", "Deployment", "deploy"),
        _rt("statefulsets", "apps", "v1", "StatefulSet", "sts"),
        _rt("daemonsets", "apps", "v1", "DaemonSet", "ds"),
        _rt("cronjobs", "batch", "v1", "CronJob", "cj"),
        _rt("jobs", "batch", "v1", "Job"),
        _rt("ingresses", "networking.k8s.io", "v1", "Ingress", "ing"),
        _rt("networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", "netpol"),
        _rt("horizontalpodautoscalers", "autoscaling", "v2", "HorizontalPodAutoscaler", "hpa"),
        _rt("poddisruptionbudgets", "policy", "v1", "PodDisruptionBudget", "pdb"),
    )
}
"""Built-in namespaced resources dr-syncer can copy, by canonical plural name."""

DEFAULT_RESOURCE_TYPES: tuple[str, ...] = (
    "configmaps",
    "secrets",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "deployments",
    "statefulsets",
    "daemonsets",
    "cronjobs",
    "services",
    "ingresses",
    "networkpolicies",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "persistentvolumeclaims",
)
"""What an empty ``resourceTypes`` (or ``["*"]``) means (design §4.1). Jobs only when listed."""

NEVER_SYNCED: dict[str, str] = {
    "pods": "pods are created by their workloads in the DR cluster",
    "replicasets": "ReplicaSets are created by their Deployments in the DR cluster",
    "controllerrevisions": "controller revisions are created by their StatefulSets/DaemonSets",
    "endpoints": "endpoints are maintained by the DR cluster for its Services",
    "endpointslices": "endpoint slices are maintained by the DR cluster for its Services",
    "events": "events describe the source cluster only",
    "leases": "leases are live coordination state of the source cluster",
}
"""Kinds that are never copied, with the reason shown when one is listed."""

_NEVER_SYNCED_NAMES: dict[str, str] = {
    "pods": "pods",
    "pod": "pods",
    "po": "pods",
    "replicasets": "replicasets",
    "replicaset": "replicasets",
    "rs": "replicasets",
    "controllerrevisions": "controllerrevisions",
    "controllerrevision": "controllerrevisions",
    "endpoints": "endpoints",
    "ep": "endpoints",
    "endpointslices": "endpointslices",
    "endpointslice": "endpointslices",
    "events": "events",
    "event": "events",
    "ev": "events",
    "leases": "leases",
    "lease": "leases",
}

CRD_NAMES = frozenset({"customresourcedefinitions", "customresourcedefinition", "crd", "crds"})
"""Names DR-Syncer accepts in resourceTypes for CRDs, which are synced only via ``syncCRDs``."""

_ALIASES: dict[str, str] = {}
for _resource in SYNCABLE.values():
    for _alias in (_resource.plural, _resource.singular, *_resource.short_names):
        _ALIASES[_alias] = _resource.plural

_BUILTIN_GROUPS = frozenset({rt.group for rt in SYNCABLE.values() if rt.group} | {"core", "v1"})
_RESOURCE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")


class ResourceTypeError(ValueError):
    """A resource type name that cannot be used; the message says why and what is accepted."""


def accepted_names() -> str:
    """The accepted built-in names, for error messages."""
    return ", ".join(sorted(SYNCABLE))


def resolve_resource_type(entry: str) -> str:
    """Return the canonical name of one entry; raise :class:`ResourceTypeError` when it cannot be used.

    ``ConfigMap`` / ``configmaps`` / ``cm`` → ``configmaps``; ``deployments.apps`` → ``deployments``;
    ``Widgets.Example.COM`` → ``widgets.example.com``.
    """
    name = entry.strip().lower()
    if name in _ALIASES:
        return _ALIASES[name]
    if name in _NEVER_SYNCED_NAMES:
        plural = _NEVER_SYNCED_NAMES[name]
        raise ResourceTypeError(f"{entry!r} is never synced: {NEVER_SYNCED[plural]}")
    resource, dot, group = name.partition(".")
    if dot:
        if not _RESOURCE.match(resource) or not (_GROUP.match(group) or group in _BUILTIN_GROUPS):
            raise ResourceTypeError(
                f"{entry!r} is not a valid 'resource.group' name; expected e.g. widgets.example.com"
            )
        builtin = _ALIASES.get(resource)
        if builtin is not None and SYNCABLE[builtin].group == group:
            return builtin
        never = _NEVER_SYNCED_NAMES.get(resource)
        if never is not None:
            raise ResourceTypeError(f"{entry!r} is never synced: {NEVER_SYNCED[never]}")
        if group in _BUILTIN_GROUPS:
            raise ResourceTypeError(
                f"{entry!r} is not a resource dr-syncer can sync; expected one of {accepted_names()}"
            )
        return name
    raise ResourceTypeError(
        f"unknown resource type {entry!r}; expected one of {accepted_names()} (singular, plural or short "
        "names, any case) or 'resource.group' for a custom resource (e.g. widgets.example.com)"
    )


def normalise_resource_types(entries: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Canonical resource names for a ``resourceTypes`` list, and the problems of its entries.

    Empty or ``["*"]`` gives :data:`DEFAULT_RESOURCE_TYPES`; ``*`` next to other entries adds them to the
    defaults. Duplicates are dropped, order is kept. Each problem starts with ``[index]: `` so the caller
    can append it to the field path. CRD names are skipped (CRDs are copied only with ``syncCRDs``).
    """
    names: list[str] = []
    problems: list[str] = []
    if not entries or "*" in (entry.strip() for entry in entries):
        names.extend(DEFAULT_RESOURCE_TYPES)
    for index, entry in enumerate(entries):
        if entry.strip() == "*" or entry.strip().lower() in CRD_NAMES:
            continue
        try:
            names.append(resolve_resource_type(entry))
        except ResourceTypeError as error:
            problems.append(f"[{index}]: {error}")
    return tuple(dict.fromkeys(names)), problems


def resource_type(name: str) -> ResourceType | None:
    """The built-in resource with canonical ``name``, or ``None`` for custom resources."""
    return SYNCABLE.get(name)


def kind_matches(pattern: str, *, kind: str, resource: str) -> bool:
    """Whether an ``excludeResources`` kind (any spelling) names an object of ``kind`` / ``resource``."""
    wanted = pattern.strip().lower()
    if wanted in (kind.lower(), resource.lower()):
        return True
    try:
        return resolve_resource_type(wanted) == resource
    except ResourceTypeError:
        return False
