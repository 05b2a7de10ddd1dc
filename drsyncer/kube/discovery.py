"""API discovery: which kinds a cluster serves, at which preferred version.

The sync asks for resources by name (``deployments``, ``widgets.example.com``); discovery answers with
an :class:`ApiResource` (group, preferred version, kind, plural, namespaced, verbs). A cluster that does
not serve a requested resource is a :class:`~drsyncer.errors.ClusterError` naming the cluster, the
resource and the fix. Results are cached per :class:`Discovery` (one per sync run), and only the API
groups actually asked for are fetched.

One API group failing its discovery (an aggregated API whose backend is down answers 503, a slow one
times out) never fails the cluster: :attr:`Discovery.failures` records it, the group serves nothing, and
the sync reports it as a warning — only a kind the user listed by name fails (:class:`GroupUnavailableError`).
Discovery of a non-core group gets a short timeout and two attempts (``GROUP_TIMEOUT``,
``GROUP_ATTEMPTS``), so a dead backend costs seconds, not minutes.

Which groups are aggregated comes from the ``APIService`` list. When it cannot be read (RBAC refuses
``list`` on ``apiservices``, or it fails), :meth:`Discovery.non_local_groups` answers ``None`` — unknown,
not "none" — and :attr:`Discovery.apiservices_error` says why, so ``["*"]`` can leave out what it cannot
vet and the report can name the rule to grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drsyncer.errors import ClusterError
from drsyncer.kube.client import ApiError, KubeClient, object_path

GROUP_TIMEOUT = 10.0
"""Seconds one discovery request of a non-core API group may take."""
GROUP_ATTEMPTS = 2
"""Tries of one discovery request of a non-core API group (one retry)."""
APISERVICES_PATH = "/apis/apiregistration.k8s.io/v1/apiservices"


class GroupUnavailableError(ClusterError):
    """A kind the user listed lives in an API group whose discovery failed (the reason is in the message)."""


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
    _non_local: frozenset[str] | None = None
    _versions: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    """``group/version`` → why its discovery failed (status and message, or the connection error)."""
    group_timeout: float = GROUP_TIMEOUT
    """Seconds one discovery request of a non-core API group may take."""
    apiservices_error: str = ""
    """Why the APIService list could not be read (``""`` when it was, or was not needed yet)."""

    def preferred_versions(self) -> dict[str, str]:
        """Group name → preferred version; the core group is ``""`` → ``v1``."""
        if self._preferred is None:
            groups = self.client.request("GET", "/apis", what="discovery /apis")
            preferred = {"": "v1"}
            self._versions = {"": ["v1"]}
            for group in groups.get("groups") or []:
                served = [
                    str(entry["version"]) for entry in group.get("versions") or [] if entry.get("version")
                ]
                version = (group.get("preferredVersion") or {}).get("version")
                if not version and served:
                    version = served[0]
                if version:
                    preferred[str(group["name"])] = str(version)
                    self._versions[str(group["name"])] = [str(version)] + [v for v in served if v != version]
            self._preferred = preferred
        return self._preferred

    def served_versions(self, group: str) -> list[str]:
        """The versions ``group`` is served at, preferred first (``[]`` when not served)."""
        self.preferred_versions()
        return list(self._versions.get(group, []))

    def find_at(self, plural: str, group: str, version: str) -> ApiResource | None:
        """The resource ``plural`` of ``group`` at ``version``, or ``None``."""
        for resource in self.resources(group, version):
            if resource.plural == plural:
                return resource
        return None

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
                listing = self.client.request(
                    "GET",
                    path,
                    what=f"discovery {path}",
                    timeout=self.group_timeout if group else None,
                    attempts=GROUP_ATTEMPTS if group else None,
                )
            except ApiError as error:
                if error.is_not_found:
                    self._resources[key] = []
                    return []
                if not group:
                    raise
                self.failures[f"{group}/{version}"] = _failure_reason(
                    error,
                    prefix=f"cluster {self.client.cluster!r}: discovery {path}: ",
                    timeout=self.group_timeout,
                )
                self._resources[key] = []
                return []
            except ClusterError as error:
                if not group:
                    raise
                self.failures[f"{group}/{version}"] = _failure_reason(
                    error,
                    prefix=f"cluster {self.client.cluster!r}: discovery {path}: ",
                    timeout=self.group_timeout,
                )
                self._resources[key] = []
                return []
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

    def failure(self, group: str) -> str | None:
        """Why ``group``'s discovery (at its preferred version) failed, or ``None``."""
        version = self.preferred_versions().get(group)
        return self.failures.get(f"{group}/{version}") if version else None

    def require(self, plural: str, group: str) -> ApiResource:
        """Like :meth:`find`, but a missing resource is a clear :class:`ClusterError`.

        Raises:
            GroupUnavailableError: the resource's group is advertised but its discovery failed.
            ClusterError: the cluster does not serve the resource.
        """
        resource = self.find(plural, group)
        if resource is None:
            name = f"{plural}.{group}" if group else plural
            reason = self.failure(group)
            if reason is not None:
                raise GroupUnavailableError(
                    f"cluster {self.client.cluster!r} cannot serve {name!r}: discovery of API group "
                    f"{group}/{self.preferred_versions()[group]} failed: {reason}",
                    fix="bring that API service back (kubectl get apiservice), or remove the kind from "
                    "resourceTypes",
                )
            hint = (
                "install its CustomResourceDefinition in that cluster, or remove it from resourceTypes"
                if group and "." in group
                else "remove it from resourceTypes, or use a cluster version that serves it"
            )
            raise ClusterError(f"cluster {self.client.cluster!r} does not serve {name!r}", fix=hint)
        return resource

    def non_local_groups(self) -> frozenset[str] | None:
        """API groups served through the aggregator (an ``APIService`` with a ``spec.service``).

        Built-in and CRD groups are Local. A cluster without the APIService API (404) has no aggregated
        groups. ``None`` means unknown: the list was refused (RBAC) or failed, and
        :attr:`apiservices_error` holds the reason (for a 403, the rule to grant).
        """
        if self._non_local is None:
            try:
                items, _ = self.client.list(APISERVICES_PATH)
            except ApiError as error:
                if not error.is_not_found:
                    self.apiservices_error = _apiservices_reason(error, cluster=self.client.cluster)
                    return None
                items = []
            except ClusterError as error:
                self.apiservices_error = _apiservices_reason(error, cluster=self.client.cluster)
                return None
            self.apiservices_error = ""
            self._non_local = frozenset(
                str((item.get("spec") or {}).get("group") or "")
                for item in items
                if (item.get("spec") or {}).get("service")
            )
        return self._non_local

    def invalidate(self) -> None:
        """Forget what was discovered (after CRDs were created); :attr:`failures` are kept for the report."""
        self._preferred = None
        self._non_local = None
        self._resources.clear()


def _apiservices_reason(error: ClusterError, *, cluster: str) -> str:
    """Why the APIService list could not be read, without the ``cluster x:`` prefix the caller adds."""
    return error.message.removeprefix(f"cluster {cluster}: ").removeprefix(f"cluster {cluster!r}: ").strip()


def _failure_reason(error: ClusterError, *, prefix: str, timeout: float) -> str:
    """What went wrong, without the cluster and path the warning names anyway."""
    if isinstance(error, ApiError):
        detail = str(error.body.get("message", "")).strip() if isinstance(error.body, dict) else ""
        return f"{error.status} {error.reason or 'error'}" + (f": {detail}" if detail else "")
    if "timed out" in error.message:
        return f"no answer within {timeout:g} s"
    return error.message.removeprefix(prefix).strip()


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
