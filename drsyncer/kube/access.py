"""What a request needs from RBAC, and the one line a 403 becomes.

When an API server answers 403 Forbidden, the user needs to know which cluster refused, what dr-syncer
tried to do, and exactly which rule to add to which of the roles we ship in
``deployments/kubernetes/rbac/``. :func:`requested_access` reads the verb, API group, resource
(``deployments/scale`` for a subresource) and namespace from the request the way the API server's
request-info parser does (``GET`` on a collection is ``list``, ``?watch=true`` is ``watch``, ``DELETE``
on a collection is ``deletecollection``); :func:`forbidden_line` renders::

    cluster dr: forbidden to patch deployments.apps in namespace shop; grant verbs [patch] on deployments
    in apiGroup apps (deployments/kubernetes/rbac/dr-role.yaml)

Pure functions; consumed by :class:`drsyncer.kube.client.KubeClient` when it raises a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

RBAC_DIRECTORY = "deployments/kubernetes/rbac"
SOURCE_ROLE_FILE = f"{RBAC_DIRECTORY}/source-role.yaml"
"""The role dr-syncer needs in a cluster it reads from (plus the DR operations' rules on the source)."""
DR_ROLE_FILE = f"{RBAC_DIRECTORY}/dr-role.yaml"
"""The role dr-syncer needs in a cluster it writes to."""

_METHOD_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class Access:
    """One request as RBAC sees it."""

    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    path: str = ""

    @property
    def resource_request(self) -> bool:
        """False for discovery and other non-resource paths (``/api``, ``/version``...)."""
        return bool(self.resource)

    @property
    def rule_resource(self) -> str:
        """The resource as a rule names it: ``deployments`` or ``deployments/scale``."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def requested_access(method: str, path: str, query: list[tuple[str, Any]] | None = None) -> Access:
    """The RBAC attributes of a request dr-syncer sends."""
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    parts = [part for part in path.split("?", 1)[0].split("/") if part]
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return Access(verb=verb, path=path)
    group = parts[1] if parts[0] == "apis" else ""
    rest = parts[3:] if parts[0] == "apis" else parts[2:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    name = rest[1] if len(rest) > 1 else ""
    if not name and verb == "get":
        watching = any(key == "watch" and str(value).lower() in ("1", "true") for key, value in query or [])
        verb = "watch" if watching else "list"
    elif not name and verb == "delete":
        verb = "deletecollection"
    return Access(
        verb=verb,
        api_group=group,
        resource=rest[0],
        subresource=rest[2] if len(rest) > 2 else "",
        namespace=namespace,
        path=path,
    )


def refused_access(access: Access, *, apply: bool, message: str) -> Access:
    """The access a 403 refused: a server-side apply that creates its object is checked for ``create``.

    The API server authorizes an apply PATCH as ``patch``; when the object does not exist yet it also
    checks ``create`` and then answers ``<resource> "<name>" is forbidden`` without "cannot patch".
    """
    if apply and access.verb == "patch" and "cannot patch" not in message:
        return replace(access, verb="create", subresource="")
    return access


def forbidden_line(cluster: str, access: Access, *, role_file: str = "") -> str:
    """The one line a 403 becomes: the cluster, what was refused, and the rule to grant (and where)."""
    where = f" ({role_file})" if role_file else f" (see {RBAC_DIRECTORY}/)"
    if not access.resource_request:
        return (
            f"cluster {cluster}: forbidden to {access.verb} path {access.path}; "
            f"grant verbs [{access.verb}] on nonResourceURLs [{access.path}]{where}"
        )
    qualified = f"{access.resource}.{access.api_group}" if access.api_group else access.resource
    if access.subresource:
        qualified = f"{qualified}/{access.subresource}"
    scope = f"in namespace {access.namespace}" if access.namespace else "at cluster scope"
    group = access.api_group or '""'
    return (
        f"cluster {cluster}: forbidden to {access.verb} {qualified} {scope}; "
        f"grant verbs [{access.verb}] on {access.rule_resource} in apiGroup {group}{where}"
    )
