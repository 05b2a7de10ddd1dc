"""Label and field selectors, parsed from query strings and matched against objects.

Label selectors support ``=``, ``==``, ``!=``, ``in``, ``notin``, ``key`` (exists) and ``!key``; field
selectors support ``=``, ``==`` and ``!=`` on the fields each kind allows (as the real server does,
unsupported fields are a 400). Parse errors raise :class:`~drsyncer.sandbox.status.ApiError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.status import bad_request

Matcher = Callable[[KubeObject], bool]

_LABEL_TERM = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9][-A-Za-z0-9_./]*)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[-A-Za-z0-9_.]*)|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _split_terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    match = _LABEL_TERM.match(term)
    if not match:
        raise bad_request(f"unable to parse requirement: found '{term.strip()}', expected: identifier")
    key, neg = match["key"], match["neg"]
    if neg:
        if match["op"] or match["setop"]:
            raise bad_request(f"unable to parse requirement: found '{term.strip()}'")
        return lambda labels: key not in labels
    if match["op"]:
        value = match["value"]
        if match["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match["setop"]:
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if match["setop"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    return lambda labels: key in labels


def label_matcher(selector: str | None) -> Matcher | None:
    """A predicate for a ``labelSelector`` query value (None when empty)."""
    if not selector:
        return None
    terms = [_label_term(t) for t in _split_terms(selector)]

    def matches(obj: KubeObject) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a structured LabelSelector (matchLabels/matchExpressions) selects ``labels``."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and key in labels and labels[key] in values)
            or (operator == "Exists" and key not in labels)
            or (operator == "DoesNotExist" and key in labels)
        ):
            return False
    return True


_COMMON_FIELDS = {"metadata.name", "metadata.namespace"}
FIELDS: dict[str, set[str]] = {
    "pods": {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "secrets": {"type"},
    "events": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "namespaces": {"status.phase"},
    "nodes": {"spec.unschedulable"},
    "persistentvolumeclaims": set(),
    "replicasets": {"status.replicas"},
    "jobs": {"status.successful"},
}


def _field_value(obj: KubeObject, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(selector: str | None, plural: str, kind: str) -> Matcher | None:
    """A predicate for a ``fieldSelector`` query value; unsupported fields raise 400 BadRequest."""
    if not selector:
        return None
    allowed = _COMMON_FIELDS | FIELDS.get(plural, set())
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(selector):
        match = re.match(r"^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, operator, value = match.groups()
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
        terms.append((field, operator == "!=", value))

    def matches(obj: KubeObject) -> bool:
        return all((_field_value(obj, f) == v) != negate for f, negate, v in terms)

    _ = kind
    return matches
