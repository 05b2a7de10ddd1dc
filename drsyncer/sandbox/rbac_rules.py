"""RBAC semantics as the real kube-apiserver applies them: request attributes, rule matching, coverage.

Pure functions over plain dicts, ported from upstream Kubernetes so the sandbox answers like a real
cluster (``drsyncer.sandbox.rbac`` applies them to a cluster's users and objects):

- :func:`request_attributes` — ``k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory``: which
  verb, API group, resource, subresource, namespace and name a request is about (``GET`` on a collection
  is ``list``, ``?watch=true`` is ``watch``, ``DELETE`` on a collection is ``deletecollection``; a
  namespace's own path carries its name as the namespace).
- :func:`rule_allows` — ``plugin/pkg/auth/authorizer/rbac.RuleAllows``: verb, group, resource (with
  ``*/subresource``), resourceNames and nonResourceURLs matching.
- :func:`covers` — ``pkg/registry/rbac/validation.Covers``: the escalation check's "does the owner hold
  every right it grants", rule by broken-down rule; the missing rules come back compacted and rendered
  with :func:`compact_string` exactly as upstream's escalation message prints them.
- :func:`forbidden_message` — ``responsewriters.forbiddenMessage`` + ``errors.NewForbidden`` wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}

Rule = dict[str, Any]
"""A ``PolicyRule`` as JSON: verbs, apiGroups, resources, resourceNames, nonResourceURLs."""


@dataclass(frozen=True)
class User:
    """An authenticated identity: its name and groups (as a token authenticator reports them)."""

    name: str
    groups: tuple[str, ...] = ()


def service_account_user(namespace: str, name: str) -> User:
    """The identity of a ServiceAccount token, with the groups the token authenticator adds."""
    return User(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
    )


@dataclass(frozen=True)
class Attributes:
    """What one request asks to do (upstream ``authorizer.Attributes``)."""

    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def combined_resource(self) -> str:
        """``resource`` or ``resource/subresource``, as rules name it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def request_attributes(method: str, path: str, query: dict[str, str]) -> Attributes:
    """The authorization attributes of one HTTP request (upstream ``RequestInfoFactory``)."""
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    parts = [part for part in path.split("/") if part]
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return Attributes(verb=verb, resource_request=False, path=path)
    rest = parts[1:]
    group = ""
    if parts[0] == "apis":
        if len(rest) < 3:
            return Attributes(verb=verb, resource_request=False, path=path)
        group, rest = rest[0], rest[1:]
    rest = rest[1:]  # the version
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "") in ("1", "true", "True") else "list"
        selected = query.get("fieldSelector", "")
        if selected.startswith("metadata.name=") and "," not in selected:
            name = selected.removeprefix("metadata.name=")
    elif not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        verb=verb,
        resource_request=True,
        path=path,
        api_group=group,
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )


# ----------------------------------------------------------------------------- matching


def rule_allows(rule: Rule, attributes: Attributes) -> bool:
    """Whether one PolicyRule allows the request (upstream ``RuleAllows``)."""
    if not _has_or_all(rule.get("verbs"), attributes.verb):
        return False
    if not attributes.resource_request:
        return _url_matches(rule.get("nonResourceURLs") or [], attributes.path)
    if not _has_or_all(rule.get("apiGroups"), attributes.api_group):
        return False
    if not _resource_matches(rule.get("resources") or [], attributes):
        return False
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names


def _has_or_all(values: list[str] | None, wanted: str) -> bool:
    return any(value in ("*", wanted) for value in values or [])


def _resource_matches(resources: list[str], attributes: Attributes) -> bool:
    combined, sub = attributes.combined_resource, attributes.subresource
    for resource in resources:
        if resource in ("*", combined):
            return True
        if sub and resource == f"*/{sub}":
            return True
    return False


def _url_matches(urls: list[str], path: str) -> bool:
    for url in urls:
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


# ----------------------------------------------------------------------------- escalation


def breakdown(rule: Rule) -> list[Rule]:
    """One rule per verb × group × resource (× name), and per verb × URL (upstream ``BreakdownRule``)."""
    atoms: list[Rule] = []
    names = rule.get("resourceNames") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in rule.get("verbs") or []:
                base: Rule = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                atoms.extend([dict(base, resourceNames=[name]) for name in names] if names else [base])
    for url in rule.get("nonResourceURLs") or []:
        for verb in rule.get("verbs") or []:
            atoms.append({"nonResourceURLs": [url], "verbs": [verb]})
    return atoms


def _rule_covers(owner: Rule, sub: Rule) -> bool:
    verbs, groups = owner.get("verbs") or [], owner.get("apiGroups") or []
    verb_ok = "*" in verbs or set(sub.get("verbs") or []) <= set(verbs)
    group_ok = "*" in groups or set(sub.get("apiGroups") or []) <= set(groups)
    resources_ok = _resources_cover(owner.get("resources") or [], sub.get("resources") or [])
    urls_ok = all(
        _url_matches(owner.get("nonResourceURLs") or [], url) for url in sub.get("nonResourceURLs") or []
    )
    owner_names, sub_names = owner.get("resourceNames") or [], sub.get("resourceNames") or []
    names_ok = not owner_names or (bool(sub_names) and set(sub_names) <= set(owner_names))
    return verb_ok and group_ok and resources_ok and urls_ok and names_ok


def _resources_cover(owned: list[str], wanted: list[str]) -> bool:
    if "*" in owned:
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owned:
            return False
    return True


def covers(owner_rules: list[Rule], requested: list[Rule]) -> list[Rule]:
    """The requested rights ``owner_rules`` do not hold (empty when covered), compacted as upstream."""
    missing = [
        atom
        for rule in requested
        for atom in breakdown(rule)
        if not any(_rule_covers(owner, atom) for owner in owner_rules)
    ]
    return compact(missing)


def compact(rules: list[Rule]) -> list[Rule]:
    """Merge the verbs of rules on one group, resource and name (upstream ``CompactRules``)."""
    merged: dict[tuple[str, str, str], Rule] = {}
    others: list[Rule] = []
    for rule in rules:
        groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
        names = rule.get("resourceNames") or []
        if rule.get("nonResourceURLs") or len(groups) != 1 or len(resources) != 1 or len(names) > 1:
            others.append(rule)
            continue
        key = (groups[0], resources[0], names[0] if names else "")
        if key in merged:
            merged[key]["verbs"] = [*merged[key]["verbs"], *(rule.get("verbs") or [])]
        else:
            merged[key] = {k: list(v) for k, v in rule.items()}
    return others + list(merged.values())


def go_quote_list(values: list[str] | tuple[str, ...]) -> str:
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return (
        "[" + " ".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "]"
    )


def compact_string(rule: Rule) -> str:
    """``{APIGroups:["apps"], Resources:["deployments"], Verbs:["patch"]}`` (upstream ``CompactString``)."""
    parts = [
        f"{label}:{go_quote_list(rule[key])}"
        for label, key in (
            ("APIGroups", "apiGroups"),
            ("Resources", "resources"),
            ("NonResourceURLs", "nonResourceURLs"),
            ("ResourceNames", "resourceNames"),
            ("Verbs", "verbs"),
        )
        if rule.get(key)
    ]
    return "{" + ", ".join(parts) + "}"


def escalation_message(user: User, missing: list[Rule]) -> str:
    """Upstream ``ConfirmNoEscalation``'s message for rights a user tried to grant without holding them."""
    described = "\n".join(sorted({compact_string(rule) for rule in missing}))
    return (
        f'user "{user.name}" (groups={go_quote_list(user.groups)}) is attempting to grant RBAC permissions '
        f"not currently held:\n{described}"
    )


# ----------------------------------------------------------------------------- messages


def forbidden_message(user: User, attributes: Attributes, reason: str = "") -> str:
    """The 403 message: ``pods "x" is forbidden: User "u" cannot get resource "pods" in API group ...``."""
    if not attributes.resource_request:
        why = f'User "{user.name}" cannot {attributes.verb} path "{attributes.path}"'
        return f"forbidden: {why}" + (f": {reason}" if reason else "")
    resource = attributes.combined_resource
    scope = f'in the namespace "{attributes.namespace}"' if attributes.namespace else "at the cluster scope"
    why = (
        f'User "{user.name}" cannot {attributes.verb} resource "{resource}" in API group '
        f'"{attributes.api_group}" {scope}'
    )
    if reason:
        why = f"{why}: {reason}"
    qualified = (
        f"{attributes.resource}.{attributes.api_group}" if attributes.api_group else attributes.resource
    )
    if attributes.name:
        return f'{qualified} "{attributes.name}" is forbidden: {why}'
    return f"{qualified} is forbidden: {why}"


def subject_matches(subject: dict[str, Any], user: User, binding_namespace: str) -> bool:
    """Whether a binding subject names ``user`` (upstream ``appliesToUser``)."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"system:serviceaccount:{namespace}:{name}"
    return False
