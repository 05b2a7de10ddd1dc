"""The kinds a sandbox cluster serves: the built-in table plus kinds registered by CRDs.

A :class:`ResourceType` carries what discovery advertises (group, version, kind, plural, singular, short
names, scope, verbs, subresources, categories) and what the request layer needs to route and store an
object. Objects of one resource share storage across the versions it is served in (the store keys by
group and plural, never by version). :class:`Registry` is the live table; the server consults it for
every request and discovery renders it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One resource as served at ``/api[s]/{group}/{version}/{plural}``."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = VERBS
    custom: bool = False
    generation: bool = False
    """Whether ``metadata.generation`` is maintained (bumped on spec changes)."""

    @property
    def singular(self) -> str:
        """The lower-case singular name."""
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        """``group/version`` or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """The storage key: objects are shared across the versions of one resource."""
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        """Whether the ``status`` subresource exists (main writes then ignore status)."""
        return "status" in self.subresources


def _core(
    kind: str, plural: str, *, namespaced: bool = True, short: tuple[str, ...] = (), **kw: object
) -> ResourceType:
    return ResourceType("", "v1", kind, plural, namespaced, short, **kw)  # type: ignore[arg-type]


_ALL = ("all",)
_STATUS = ("status",)
_SCALE = ("status", "scale")

BUILTINS: tuple[ResourceType, ...] = (
    _core("Namespace", "namespaces", namespaced=False, short=("ns",), subresources=("status", "finalize")),
    _core("ConfigMap", "configmaps", short=("cm",)),
    _core("Secret", "secrets"),
    _core("ServiceAccount", "serviceaccounts", short=("sa",)),
    _core("Service", "services", short=("svc",), subresources=_STATUS, categories=_ALL),
    _core("Endpoints", "endpoints", short=("ep",)),
    _core("Pod", "pods", short=("po",), subresources=("status", "log"), categories=_ALL),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",), subresources=_STATUS),
    _core("PersistentVolume", "persistentvolumes", namespaced=False, short=("pv",), subresources=_STATUS),
    _core("Node", "nodes", namespaced=False, short=("no",), subresources=_STATUS),
    _core("Event", "events", short=("ev",)),
    _core("ComponentStatus", "componentstatuses", namespaced=False, short=("cs",), verbs=("get", "list")),
    _core("Binding", "bindings", verbs=("create",)),
    _core("LimitRange", "limitranges", short=("limits",)),
    _core("ResourceQuota", "resourcequotas", short=("quota",), subresources=_STATUS),
    ResourceType("apps", "v1", "Deployment", "deployments", True, ("deploy",), _SCALE, _ALL, generation=True),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), _SCALE, _ALL, generation=True),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), _STATUS, _ALL, generation=True),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), _SCALE, _ALL, generation=True),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    ResourceType("batch", "v1", "Job", "jobs", True, (), _STATUS, _ALL, generation=True),
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, ("cj",), _STATUS, _ALL, generation=True),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), _STATUS, generation=True),
    ResourceType(
        "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",), generation=True
    ),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, generation=True),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        ("hpa",),
        _STATUS,
        _ALL,
    ),
    ResourceType(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        ("hpa",),
        _STATUS,
        _ALL,
    ),
    ResourceType(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        True,
        ("pdb",),
        _STATUS,
        generation=True,
    ),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    ResourceType("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, (), _STATUS),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        _STATUS,
        generation=True,
    ),
)

PREFERRED_VERSIONS = {"autoscaling": "v2"}


@dataclass
class Registry:
    """The live table of served resources (built-ins plus CRD-registered kinds); thread-safe."""

    _by_path: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for resource in BUILTINS:
            self._by_path[(resource.group, resource.version, resource.plural)] = resource

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The resource served at ``group/version/plural``, if any."""
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The resource for an object's ``apiVersion`` and ``kind``."""
        group, _, version = api_version.rpartition("/")
        for resource in self.all():
            if resource.group == group and resource.version == version and resource.kind == kind:
                return resource
        return None

    def by_key(self, key: tuple[str, str]) -> ResourceType | None:
        """A served version of the resource stored under ``key`` (group, plural), preferred first."""
        matches = [r for r in self.all() if r.key == key]
        preferred = PREFERRED_VERSIONS.get(key[0])
        matches.sort(key=lambda r: r.version != preferred)
        return matches[0] if matches else None

    def all(self) -> list[ResourceType]:
        """Every served resource, in registration order."""
        with self._lock:
            return list(self._by_path.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred first (core group under '')."""
        result: dict[str, list[str]] = {}
        for resource in self.all():
            versions = result.setdefault(resource.group, [])
            if resource.version not in versions:
                versions.append(resource.version)
        for group, versions in result.items():
            preferred = PREFERRED_VERSIONS.get(group)
            if preferred in versions:
                versions.remove(preferred)
                versions.insert(0, preferred)
        return result

    def register(self, resources: list[ResourceType]) -> None:
        """Serve ``resources`` (a CRD's served versions), replacing what that CRD served before."""
        with self._lock:
            if resources:
                stale = [k for k, r in self._by_path.items() if r.custom and r.key == resources[0].key]
                for key in stale:
                    del self._by_path[key]
            for resource in resources:
                self._by_path[(resource.group, resource.version, resource.plural)] = resource

    def add_builtins(self, resources: list[ResourceType]) -> None:
        """Serve extra built-in versions (an older Kubernetes minor's, see ``versions.py``)."""
        with self._lock:
            for resource in resources:
                self._by_path[(resource.group, resource.version, resource.plural)] = resource

    def remove_builtins(self, resources: list[ResourceType]) -> None:
        """Stop serving built-in versions added by :meth:`add_builtins`."""
        with self._lock:
            for resource in resources:
                self._by_path.pop((resource.group, resource.version, resource.plural), None)

    def unregister(self, group: str, plural: str) -> None:
        """Stop serving a custom resource in every version."""
        with self._lock:
            stale = [k for k, r in self._by_path.items() if r.custom and r.key == (group, plural)]
            for key in stale:
                del self._by_path[key]

    def reset(self) -> None:
        """Forget every CRD-registered kind."""
        with self._lock:
            for key in [k for k, r in self._by_path.items() if r.custom]:
                del self._by_path[key]


def resources_from_crd(crd: dict[str, object]) -> list[ResourceType]:
    """The resources a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec", {})
    assert isinstance(spec, dict)
    names = spec.get("names", {})
    served = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        subs = tuple(name for name in ("status", "scale") if name in subresources)
        served.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", ())),
                subresources=subs,
                categories=tuple(names.get("categories", ())),
                custom=True,
                generation=True,
            )
        )
    return served
