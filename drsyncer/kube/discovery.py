"""API discovery: which kinds a cluster serves, at which preferred version.

The sync asks for resources by name (``deployments``, ``widgets.example.com``); discovery answers with
an :class:`ApiResource` (group, preferred version, kind, plural, namespaced, verbs). A cluster that does
not serve a requested resource is a :class:`~drsyncer.errors.ClusterError` naming the cluster, the
resource and the fix. Results are cached per :class:`Discovery` (one per sync run), and only the API
groups actually asked for are fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drsyncer.errors import ClusterError
from drsyncer.kube.client import ApiError, KubeClient, object_path


@dataclass(frozen=True)
class ApiResource:
    """One served resource at the cluster's preferred version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def api_version(self) -> str:
        """``group/version`` (``v1`` for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_name(self) -> str:
        """``plural`` for core kinds, ``plural.group`` otherwise."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None, name: str | None = None, *, subresource: str = "") -> str:
        """The REST path of the collection or one object."""
        return object_path(
            group=self.group,
            version=self.version,
            plural=self.plural,
            namespace=namespace if self.namespaced else None,
            name=name,
            subresource=subresource,
        )


@dataclass
class Discovery:
    """Cached discovery for one cluster."""

    client: KubeClient
    _preferred: dict[str, str] | None = None
    _resources: dict[tuple[str, str], list[ApiResource]] = field(default_factory=dict)

    def preferred_versions(self) -> dict[str, str]:
        """Group name → preferred version; the core group is ``""`` → ``v1``."""
        if self._preferred is None:
            groups = self.client.request("GET", "/apis", what="discovery /apis")
            preferred = {"": "v1"}
            for group in groups.get("groups") or []:
                version = (group.get("preferredVersion") or {}).get("version")
                if not version and group.get("versions"):
                    version = group["versions"][0]["version"]
                if version:
                    preferred[str(group["name"])] = str(version)
            self._preferred = preferred
        return self._preferred

    def resources(self, group: str, version: str | None = None) -> list[ApiResource]:
        """Every top-level resource of ``group`` at ``version`` (default: preferred)."""
        if version is None:
            version = self.preferred_versions().get(group)
            if version is None:
                return []
        key = (group, version)
        if key not in self._resources:
            path = "/api/v1" if not group else f"/apis/{group}/{version}"
            try:
                listing = self.client.request("GET", path, what=f"discovery {path}")
            except ApiError as error:
                if error.is_not_found:
                    self._resources[key] = []
                    return []
                raise
            self._resources[key] = [
                ApiResource(
                    group=group,
                    version=version,
                    kind=str(entry["kind"]),
                    plural=str(entry["name"]),
                    namespaced=bool(entry.get("namespaced")),
                    verbs=tuple(entry.get("verbs") or ()),
                    short_names=tuple(entry.get("shortNames") or ()),
                    singular=str(entry.get("singularName") or ""),
                )
                for entry in listing.get("resources") or []
                if "/" not in str(entry.get("name", ""))
            ]
        return self._resources[key]

    def find(self, plural: str, group: str) -> ApiResource | None:
        """The resource ``plural`` of ``group`` at its preferred version, or ``None``."""
        for resource in self.resources(group):
            if resource.plural == plural:
                return resource
        return None

    def require(self, plural: str, group: str) -> ApiResource:
        """Like :meth:`find`, but a missing resource is a clear :class:`ClusterError`."""
        resource = self.find(plural, group)
        if resource is None:
            name = f"{plural}.{group}" if group else plural
            hint = (
                "install its CustomResourceDefinition in that cluster, or remove it from resourceTypes"
                if group and "." in group
                else "remove it from resourceTypes, or use a cluster version that serves it"
            )
            raise ClusterError(f"cluster {self.client.cluster!r} does not serve {name!r}", fix=hint)
        return resource

    def namespaced_custom_resources(self, builtin_groups: frozenset[str]) -> list[ApiResource]:
        """Every namespaced resource in groups not in ``builtin_groups`` (for ``["*"]`` expansion)."""
        found: list[ApiResource] = []
        for group in sorted(self.preferred_versions()):
            if group in builtin_groups:
                continue
            found.extend(resource for resource in self.resources(group) if resource.namespaced)
        return found

    def invalidate(self) -> None:
        """Forget everything (after CRDs were created)."""
        self._preferred = None
        self._resources.clear()


def server_version(client: KubeClient) -> str:
    """The cluster's ``gitVersion``; also the cheapest reachability check."""
    answer = client.request("GET", "/version", what="GET /version")
    return str(answer.get("gitVersion", "unknown"))


def require_namespace(client: KubeClient, namespace: str, *, role: str) -> None:
    """Raise a clear error when ``namespace`` does not exist in ``client``'s cluster."""
    path = object_path(group="", version="v1", plural="namespaces", namespace=None, name=namespace)
    if client.get(path) is None:
        raise ClusterError(
            f"namespace {namespace!r} does not exist in {role} cluster {client.cluster!r}",
            fix="check sourceNamespace of the mapping, or create the namespace in cluster "
            f"{client.cluster!r}",
        )
