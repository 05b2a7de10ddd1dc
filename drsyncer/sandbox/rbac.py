"""Optional RBAC enforcement for a sandbox cluster's bearer-token users (off by default).

Real clusters authenticate a bearer token to a user (name + groups) and authorize every request with the
RBAC authorizer (``plugin/pkg/auth/authorizer/rbac``) over Role, ClusterRole, RoleBinding and
ClusterRoleBinding objects; the RBAC registry (``pkg/registry/rbac/*/policybased``) refuses a write that
would grant rights the writer does not hold. A sandbox cluster models this when a test turns it on::

    user = cluster.rbac.add_user("t0ken", service_account_user("dr-syncer", "dr-syncer"))
    cluster.rbac.enforce()
    kubeconfig_user(cluster.kubeconfig(), "t0ken")   # a kubeconfig that authenticates as that user

- **Authentication**: a registered token is its user; the cluster's own ``token`` (or no token at all
  while enforcement is off) is an administrator in ``system:masters``; a request without a token while
  enforcing is ``system:anonymous``; an unknown token is 401.
- **Authorization** (while enforcing): ClusterRoleBindings, then the RoleBindings of the request's
  namespace; ``system:masters`` is allowed everything. Discovery paths (``/api``, ``/apis``,
  ``/version``, ``/healthz``...) are allowed to authenticated users, as the default ``system:discovery``
  and ``system:public-info-viewer`` bindings do on every cluster. A denial is a 403 ``Forbidden`` Status
  worded exactly as upstream (:func:`drsyncer.sandbox.rbac_rules.forbidden_message`), with
  ``RBAC: role... not found`` appended when a binding names a missing role.
- **Escalation** (while enforcing): creating or updating a Role/ClusterRole needs the rights it grants
  or ``escalate`` on it; an aggregationRule needs full authority; a RoleBinding/ClusterRoleBinding needs
  ``bind`` on its roleRef or the rights of the referenced role (404 when that role does not exist).
- **Aggregated ClusterRoles** (always on, like the clusterrole-aggregation controller): a ClusterRole
  with ``aggregationRule.clusterRoleSelectors`` gets the rules of every ClusterRole its selectors match.

``reset()`` turns enforcement off and forgets users. Objects the test harness writes directly
(``cluster.create``) and controllers' writes bypass all of this, as in-process writes do on a real server.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
from typing import TYPE_CHECKING, Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import status as errors
from drsyncer.sandbox.rbac_rules import (
    RBAC_GROUP,
    Attributes,
    Rule,
    User,
    covers,
    escalation_message,
    forbidden_message,
    request_attributes,
    rule_allows,
    subject_matches,
)
from drsyncer.sandbox.resources import ResourceType
from drsyncer.sandbox.selectors import selector_matches

if TYPE_CHECKING:
    from drsyncer.sandbox.api import Api

ADMIN = User("sandbox-admin", ("system:masters", "system:authenticated"))
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))
MASTERS = "system:masters"
_DISCOVERY_PATHS = ("/api", "/apis", "/version", "/healthz", "/livez", "/readyz", "/openapi")
_PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
_FULL_AUTHORITY: list[Rule] = [
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    {"nonResourceURLs": ["*"], "verbs": ["*"]},
]
CLUSTER_ROLES = (RBAC_GROUP, "clusterroles")
ROLES = (RBAC_GROUP, "roles")
ROLE_BINDINGS = (RBAC_GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS = (RBAC_GROUP, "clusterrolebindings")
_ROLE_KEYS = {"Role": ROLES, "ClusterRole": CLUSTER_ROLES}

_current: contextvars.ContextVar[tuple[User, Attributes] | None] = contextvars.ContextVar(
    "sandbox_request", default=None
)
"""The user and attributes of the request this handler thread serves (None for in-process writes)."""


class Rbac:
    """Users, enforcement switch, authorizer, escalation admission and role aggregation of one cluster."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.enforcing = False
        self.users: dict[str, User] = {}
        api.hooks.after_create.append(self._changed)
        api.hooks.after_update.append(self._changed)
        api.hooks.after_delete.append(self._changed)
        api.hooks.admit.append(self.admit)

    # ------------------------------------------------------------------ setup

    def add_user(self, token: str, user: User) -> User:
        """Accept ``token`` as ``user`` (``system:authenticated`` is added to its groups)."""
        groups = (
            user.groups if "system:authenticated" in user.groups else (*user.groups, "system:authenticated")
        )
        self.users[token] = User(user.name, groups)
        return self.users[token]

    def enforce(self, enabled: bool = True) -> None:
        """Turn RBAC enforcement on (or off)."""
        self.enforcing = enabled

    def reset(self) -> None:
        """Enforcement off, no users."""
        self.enforcing = False
        self.users.clear()

    # ------------------------------------------------------------------ requests

    def check(
        self, method: str, path: str, query: dict[str, str], authorization: str, *, admin_token: str | None
    ) -> None:
        """Authenticate and authorize one request; raises the 401/403 the real server would send."""
        user = self._authenticate(authorization, admin_token)
        attributes = request_attributes(method, path, query)
        _current.set((user, attributes))
        if not self.enforcing or MASTERS in user.groups:
            return
        if not attributes.resource_request and self._public(user, attributes):
            return
        allowed, reason = self.authorize(user, attributes)
        if not allowed:
            raise _forbidden(user, attributes, reason)

    def _authenticate(self, authorization: str, admin_token: str | None) -> User:
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        if token and token in self.users:
            return self.users[token]
        if admin_token:
            if token == admin_token:
                return ADMIN
            raise errors.ApiError(401, "Unauthorized", "Unauthorized")
        if token and self.enforcing:
            raise errors.ApiError(401, "Unauthorized", "Unauthorized")
        return ANONYMOUS if self.enforcing else ADMIN

    @staticmethod
    def _public(user: User, attributes: Attributes) -> bool:
        if attributes.verb != "get":
            return False
        paths = _DISCOVERY_PATHS if "system:authenticated" in user.groups else _PUBLIC_PATHS
        return any(attributes.path == p or attributes.path.startswith(p + "/") for p in paths)

    def authorize(self, user: User, attributes: Attributes) -> tuple[bool, str]:
        """Whether ``user`` may do what ``attributes`` describe, and upstream's reason text when not."""
        if MASTERS in user.groups:
            return True, ""
        rules, problems = self.rules_for(user, attributes.namespace)
        if any(rule_allows(rule, attributes) for rule in rules):
            return True, ""
        if not problems:
            return False, ""
        aggregate = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        return False, f"RBAC: {aggregate}"

    def rules_for(self, user: User, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule bound to ``user`` cluster-wide and in ``namespace``, and the missing-role errors."""
        store = self.api.store
        rules: list[Rule] = []
        problems: list[str] = []
        sources = [(binding, "") for binding in store.list(CLUSTER_ROLE_BINDINGS)]
        if namespace:
            sources += [(binding, namespace) for binding in store.list(ROLE_BINDINGS, namespace)]
        for binding, binding_namespace in sources:
            if not any(subject_matches(s, user, binding_namespace) for s in binding.get("subjects") or []):
                continue
            found, problem = self._role_rules(binding.get("roleRef") or {}, binding_namespace)
            rules.extend(found)
            if problem:
                problems.append(problem)
        return rules, problems

    def _role_rules(self, role_ref: dict[str, Any], namespace: str) -> tuple[list[Rule], str]:
        kind, name = role_ref.get("kind", ""), role_ref.get("name", "")
        key = _ROLE_KEYS.get(kind)
        if key is None:
            return [], f"unsupported role reference kind: {kind!r}"
        role = self.api.store.get(key, namespace if kind == "Role" else "", name)
        if role is None:
            return [], f'{kind.lower()}.{RBAC_GROUP} "{name}" not found'
        return list(role.get("rules") or []), ""

    # ------------------------------------------------------------------ escalation (admission)

    def admit(self, resource: ResourceType, new: KubeObject, old: KubeObject | None) -> None:
        """Refuse what the request's verb alone did not authorize (403).

        A PATCH that creates its object (server-side apply) also needs ``create``, as upstream's
        ``withAuthorization`` on the patch handler's create path; a Role/ClusterRole/binding write must not
        grant rights its writer lacks.
        """
        current = _current.get()
        if current is None or not self.enforcing or MASTERS in current[0].groups:
            return
        user, request = current
        metadata = new.get("metadata") or {}
        name, namespace = metadata.get("name", ""), metadata.get("namespace", "")
        if old is None and request.verb == "patch" and request.resource == resource.plural:
            create = dataclasses.replace(request, verb="create", subresource="")
            allowed, reason = self.authorize(user, create)
            if not allowed:
                raise errors.forbidden(resource.plural, resource.group, name, reason)
        if resource.key not in (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
            return
        if resource.key in (ROLES, CLUSTER_ROLES):
            self._admit_role(resource, new, old, user, name=name, namespace=namespace)
        else:
            self._admit_binding(resource, new, user, name=name, namespace=namespace)

    def _admit_role(
        self,
        resource: ResourceType,
        new: KubeObject,
        old: KubeObject | None,
        user: User,
        *,
        name: str,
        namespace: str,
    ) -> None:
        if (
            old is not None
            and new.get("rules") == old.get("rules")
            and new.get("aggregationRule") == old.get("aggregationRule")
        ):
            return
        escalate = Attributes(
            verb="escalate",
            resource_request=True,
            api_group=RBAC_GROUP,
            resource=resource.plural,
            namespace=namespace,
            name=name,
        )
        if self.authorize(user, escalate)[0]:
            return
        owned, _ = self.rules_for(user, namespace)
        missing = covers(owned, list(new.get("rules") or []))
        if missing:
            raise errors.forbidden(resource.plural, RBAC_GROUP, name, escalation_message(user, missing))
        if new.get("aggregationRule") and covers(owned, _FULL_AUTHORITY):
            raise errors.forbidden(
                resource.plural,
                RBAC_GROUP,
                name,
                "must have cluster-admin privileges to use the aggregationRule",
            )

    def _admit_binding(
        self, resource: ResourceType, new: KubeObject, user: User, *, name: str, namespace: str
    ) -> None:
        role_ref = new.get("roleRef") or {}
        kind, role_name = role_ref.get("kind", ""), role_ref.get("name", "")
        key = _ROLE_KEYS.get(kind)
        if key is None:
            return
        bind = Attributes(
            verb="bind",
            resource_request=True,
            api_group=RBAC_GROUP,
            resource=key[1],
            namespace=namespace,
            name=role_name,
        )
        if self.authorize(user, bind)[0]:
            return
        role = self.api.store.get(key, namespace if kind == "Role" else "", role_name)
        if role is None:
            raise errors.not_found(key[1], RBAC_GROUP, role_name)
        owned, _ = self.rules_for(user, namespace)
        missing = covers(owned, list(role.get("rules") or []))
        if missing:
            raise errors.forbidden(resource.plural, RBAC_GROUP, name, escalation_message(user, missing))

    # ------------------------------------------------------------------ aggregation controller

    def _changed(self, resource: ResourceType, obj: KubeObject) -> None:
        if resource.key == CLUSTER_ROLES:
            self.aggregate()

    def aggregate(self) -> None:
        """Fill every aggregated ClusterRole's rules from the ClusterRoles its selectors match."""
        roles = sorted(self.api.store.list(CLUSTER_ROLES), key=lambda r: str(r["metadata"]["name"]))
        resource = self.api.registry.lookup(RBAC_GROUP, "v1", "clusterroles")
        if resource is None:
            return
        for role in roles:
            selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            if not selectors:
                continue
            rules: list[Rule] = []
            for other in roles:
                if other["metadata"]["name"] == role["metadata"]["name"]:
                    continue
                labels = other["metadata"].get("labels") or {}
                if any(selector_matches(selector, labels) for selector in selectors):
                    rules.extend(rule for rule in other.get("rules") or [] if rule not in rules)
            if rules != (role.get("rules") or []):
                updated = copy.deepcopy(role)
                updated["rules"] = rules
                updated["metadata"].pop("resourceVersion", None)
                self.api.update_internal(resource, updated, manager="clusterrole-aggregation-controller")


def _forbidden(user: User, attributes: Attributes, reason: str) -> errors.ApiError:
    details: dict[str, Any] = {}
    if attributes.resource_request:
        details = {"name": attributes.name, "kind": attributes.resource}
        if attributes.api_group:
            details["group"] = attributes.api_group
        if not attributes.name:
            details.pop("name")
    return errors.ApiError(403, "Forbidden", forbidden_message(user, attributes, reason), details=details)


def kubeconfig_user(kubeconfig: dict[str, Any], token: str) -> dict[str, Any]:
    """A copy of a cluster's kubeconfig document that authenticates with ``token``."""
    document = copy.deepcopy(kubeconfig)
    for entry in document.get("users") or []:
        entry["user"] = {"token": token}
    return document
