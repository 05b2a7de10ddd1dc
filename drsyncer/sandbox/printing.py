"""Server-side printing: ``meta.k8s.io/v1`` Tables, which ``kubectl get`` asks for in its Accept header.

kubectl renders whatever columns the server sends, so ``kubectl get pods`` against the sandbox shows
READY/STATUS/RESTARTS/AGE like a real cluster. Columns follow kube-apiserver's printers for the kinds we
use most; every other kind (custom resources included) gets NAME and AGE. Rows carry the object as
``PartialObjectMetadata`` unless ``includeObject`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.resources import ResourceType

Column = tuple[str, str, Callable[[KubeObject], Any]]
"""(header, type, cell function)"""


def wants_table(accept: str) -> bool:
    """Whether the Accept header asks for a Table first (kubectl's human-readable ``get``)."""
    first = accept.split(",", 1)[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def age(obj: KubeObject) -> str:
    """kubectl's short age: ``12s``, ``5m``, ``3h``, ``2d``."""
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _name(obj: KubeObject) -> str:
    return str(obj["metadata"]["name"])


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return default if obj is None else obj


def _pod_ready(pod: KubeObject) -> str:
    statuses = _get(pod, "status", "containerStatuses", default=[])
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(_get(pod, 'spec', 'containers', default=[]))}"


def _ports(service: KubeObject) -> str:
    parts = []
    for port in _get(service, "spec", "ports", default=[]):
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _node_status(node: KubeObject) -> str:
    ready = [c for c in _get(node, "status", "conditions", default=[]) if c.get("type") == "Ready"]
    return "Ready" if ready and ready[0].get("status") == "True" else "NotReady"


def _claim(pv: KubeObject) -> str:
    reference = _get(pv, "spec", "claimRef")
    return f"{reference.get('namespace')}/{reference.get('name')}" if reference else ""


NAME: Column = ("Name", "string", _name)
AGE: Column = ("Age", "string", age)
COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [
        NAME,
        ("Ready", "string", _pod_ready),
        ("Status", "string", lambda o: _get(o, "status", "phase", default="Unknown")),
        ("Restarts", "string", lambda o: "0"),
        AGE,
    ],
    ("apps", "deployments"): [
        NAME,
        (
            "Ready",
            "string",
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=1)}"
            ),
        ),
        ("Up-to-date", "integer", lambda o: _get(o, "status", "updatedReplicas", default=0)),
        ("Available", "integer", lambda o: _get(o, "status", "availableReplicas", default=0)),
        AGE,
    ],
    ("apps", "statefulsets"): [
        NAME,
        (
            "Ready",
            "string",
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=1)}"
            ),
        ),
        AGE,
    ],
    ("apps", "replicasets"): [
        NAME,
        ("Desired", "integer", lambda o: _get(o, "spec", "replicas", default=1)),
        ("Current", "integer", lambda o: _get(o, "status", "replicas", default=0)),
        ("Ready", "integer", lambda o: _get(o, "status", "readyReplicas", default=0)),
        AGE,
    ],
    ("apps", "daemonsets"): [
        NAME,
        ("Desired", "integer", lambda o: _get(o, "status", "desiredNumberScheduled", default=0)),
        ("Current", "integer", lambda o: _get(o, "status", "currentNumberScheduled", default=0)),
        ("Ready", "integer", lambda o: _get(o, "status", "numberReady", default=0)),
        AGE,
    ],
    ("", "services"): [
        NAME,
        ("Type", "string", lambda o: _get(o, "spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", lambda o: _get(o, "spec", "clusterIP", default="<none>")),
        ("External-IP", "string", lambda o: "<none>"),
        ("Port(s)", "string", _ports),
        AGE,
    ],
    ("", "configmaps"): [
        NAME,
        ("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        AGE,
    ],
    ("", "secrets"): [
        NAME,
        ("Type", "string", lambda o: o.get("type", "Opaque")),
        ("Data", "integer", lambda o: len(o.get("data") or {})),
        AGE,
    ],
    ("", "namespaces"): [
        NAME,
        ("Status", "string", lambda o: _get(o, "status", "phase", default="Active")),
        AGE,
    ],
    ("", "nodes"): [
        NAME,
        ("Status", "string", _node_status),
        ("Roles", "string", lambda o: "<none>"),
        AGE,
        ("Version", "string", lambda o: _get(o, "status", "nodeInfo", "kubeletVersion", default="")),
    ],
    ("", "persistentvolumeclaims"): [
        NAME,
        ("Status", "string", lambda o: _get(o, "status", "phase", default="Pending")),
        ("Volume", "string", lambda o: _get(o, "spec", "volumeName", default="")),
        ("Capacity", "string", lambda o: _get(o, "status", "capacity", "storage", default="")),
        ("Access Modes", "string", lambda o: ",".join(_get(o, "status", "accessModes", default=[]))),
        ("StorageClass", "string", lambda o: _get(o, "spec", "storageClassName", default="")),
        AGE,
    ],
    ("", "persistentvolumes"): [
        NAME,
        ("Capacity", "string", lambda o: _get(o, "spec", "capacity", "storage", default="")),
        ("Reclaim Policy", "string", lambda o: _get(o, "spec", "persistentVolumeReclaimPolicy", default="")),
        ("Status", "string", lambda o: _get(o, "status", "phase", default="")),
        ("Claim", "string", _claim),
        ("StorageClass", "string", lambda o: _get(o, "spec", "storageClassName", default="")),
        AGE,
    ],
}


def _address(kind: str) -> Callable[[KubeObject], str]:
    def cell(node: KubeObject) -> str:
        found = [a["address"] for a in _get(node, "status", "addresses", default=[]) if a.get("type") == kind]
        return found[0] if found else "<none>"

    return cell


WIDE: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [
        ("IP", "string", lambda o: _get(o, "status", "podIP", default="<none>")),
        ("Node", "string", lambda o: _get(o, "spec", "nodeName", default="<none>")),
    ],
    ("", "nodes"): [
        ("Internal-IP", "string", _address("InternalIP")),
        ("External-IP", "string", _address("ExternalIP")),
    ],
    ("apps", "deployments"): [
        (
            "Containers",
            "string",
            lambda o: ",".join(
                c["name"] for c in _get(o, "spec", "template", "spec", "containers", default=[])
            ),
        ),
        (
            "Images",
            "string",
            lambda o: ",".join(
                c.get("image", "") for c in _get(o, "spec", "template", "spec", "containers", default=[])
            ),
        ),
    ],
}
"""Extra columns for ``-o wide`` (priority 1)."""


def table(
    resource: ResourceType, objects: list[KubeObject], metadata: dict[str, Any], include: str
) -> KubeObject:
    """A ``Table`` of ``objects`` with ``resource``'s columns."""
    columns = COLUMNS.get(resource.key, [NAME, AGE]) + WIDE.get(resource.key, [])
    wide = len(COLUMNS.get(resource.key, [NAME, AGE]))
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [cell(obj) for _, _, cell in columns]}
        if include == "Object":
            row["object"] = {"apiVersion": resource.api_version, "kind": resource.kind, **obj}
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        rows.append(row)
    definitions = [
        {
            "name": header,
            "type": kind,
            "format": "name" if header == "Name" else "",
            "description": header,
            "priority": 0 if index < wide else 1,
        }
        for index, (header, kind, _) in enumerate(columns)
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    }
