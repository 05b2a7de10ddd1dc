"""The ``scale`` subresource: an ``autoscaling/v1`` Scale view of a workload or custom resource.

Built-in workloads map ``spec.replicas``/``status.replicas``/``spec.selector``; custom resources use the
paths their CRD declares (``specReplicasPath``, ``statusReplicasPath``, ``labelSelectorPath``).
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.status import invalid, invalid_value

BUILTIN_PATHS = {"spec": ".spec.replicas", "status": ".status.replicas", "selector": ""}


def _get(obj: KubeObject, path: str) -> Any:
    value: Any = obj
    for part in [p for p in path.split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set(obj: KubeObject, path: str, value: Any) -> None:
    parts = [p for p in path.split(".") if p]
    target = obj
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def selector_string(selector: dict[str, Any] | None) -> str:
    """A structured LabelSelector as the string form Scale carries (``app=web,tier in (a,b)``)."""
    if not selector:
        return ""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        operator, key, values = expression["operator"], expression["key"], expression.get("values") or []
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(sorted(values))})")
        elif operator == "Exists":
            terms.append(key)
        else:
            terms.append(f"!{key}")
    return ",".join(terms)


def paths_from_crd(crd: KubeObject | None, version: str) -> dict[str, str]:
    """The replica/selector paths a CRD declares for ``version`` (built-in paths when none)."""
    for served in (crd or {}).get("spec", {}).get("versions", []):
        if served.get("name") == version:
            scale = (served.get("subresources") or {}).get("scale") or {}
            return {
                "spec": scale.get("specReplicasPath", ".spec.replicas"),
                "status": scale.get("statusReplicasPath", ".status.replicas"),
                "selector": scale.get("labelSelectorPath", ""),
            }
    return BUILTIN_PATHS


def to_scale(obj: KubeObject, paths: dict[str, str]) -> KubeObject:
    """The Scale of ``obj``."""
    metadata = obj["metadata"]
    if paths["selector"]:
        selector = str(_get(obj, paths["selector"]) or "")
    else:
        selector = selector_string(obj.get("spec", {}).get("selector"))
    status: dict[str, Any] = {"replicas": int(_get(obj, paths["status"]) or 0)}
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in metadata
        },
        "spec": {"replicas": int(_get(obj, paths["spec"]) or 0)},
        "status": status,
    }


def from_scale(obj: KubeObject, scale: KubeObject, paths: dict[str, str]) -> KubeObject:
    """``obj`` with the replicas a (possibly edited) Scale asks for; carries its resourceVersion."""
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        cause = invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")
        raise invalid("Scale", "autoscaling", obj["metadata"]["name"], [cause])
    updated = copy.deepcopy(obj)
    _set(updated, paths["spec"], replicas)
    version = (scale.get("metadata") or {}).get("resourceVersion")
    if version:
        updated["metadata"]["resourceVersion"] = version
    return updated
