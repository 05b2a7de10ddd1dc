"""The endpoints controllers: an Endpoints object and an EndpointSlice for every Service with a selector.

As kube-controller-manager does, each selector Service in a namespace gets ``Endpoints/<service>`` and
``EndpointSlice/<service>-<suffix>`` (labelled ``kubernetes.io/service-name``, owned by the Service)
listing the Running pods it selects (ready, with their IPs and nodes). They appear without anyone asking —
DR tools must leave them alone — and go when the Service goes. Runs on the lifecycle worker.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox.api import Api
from drsyncer.sandbox.status import ApiError

SERVICES = ("", "services")
ENDPOINTS = ("", "endpoints")
SLICES = ("discovery.k8s.io", "endpointslices")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _suffix(uid: str) -> str:
    digest = hashlib.sha256(uid.encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:5])


def _selected(service: KubeObject, pods: list[KubeObject]) -> list[KubeObject]:
    selector = service.get("spec", {}).get("selector") or {}
    return [
        p
        for p in pods
        if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        and p.get("status", {}).get("phase") == "Running"
        and p.get("status", {}).get("podIP")
        and not p["metadata"].get("deletionTimestamp")
    ]


def _ports(service: KubeObject) -> list[dict[str, Any]]:
    ports = []
    for port in service.get("spec", {}).get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        entry: dict[str, Any] = {
            "port": target if isinstance(target, int) else port.get("port"),
            "protocol": port.get("protocol", "TCP"),
        }
        if port.get("name"):
            entry["name"] = port["name"]
        ports.append(entry)
    return ports


def _reference(pod: KubeObject) -> dict[str, Any]:
    metadata = pod["metadata"]
    return {
        "kind": "Pod",
        "name": metadata["name"],
        "namespace": metadata["namespace"],
        "uid": metadata["uid"],
    }


def desired_endpoints(service: KubeObject, pods: list[KubeObject]) -> KubeObject:
    """The Endpoints object for ``service``."""
    metadata = service["metadata"]
    body: KubeObject = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "labels": {**(metadata.get("labels") or {}), "endpointslice.kubernetes.io/skip-mirror": "true"},
        },
    }
    ready = _selected(service, pods)
    if ready:
        addresses = [
            {
                "ip": p["status"]["podIP"],
                "nodeName": p["spec"].get("nodeName", ""),
                "targetRef": _reference(p),
            }
            for p in ready
        ]
        body["subsets"] = [{"addresses": addresses, "ports": _ports(service)}]
    return body


def desired_slice(service: KubeObject, pods: list[KubeObject]) -> KubeObject:
    """The EndpointSlice for ``service``."""
    metadata = service["metadata"]
    endpoints = [
        {
            "addresses": [p["status"]["podIP"]],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": p["spec"].get("nodeName", ""),
            "targetRef": _reference(p),
        }
        for p in _selected(service, pods)
    ]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{metadata['name']}-{_suffix(metadata['uid'])}",
            "namespace": metadata["namespace"],
            "labels": {
                **(metadata.get("labels") or {}),
                SERVICE_NAME: metadata["name"],
                MANAGED_BY: SLICE_CONTROLLER,
            },
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": metadata["name"],
                    "uid": metadata["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": _ports(service),
    }


def _differs(current: KubeObject, desired: KubeObject, fields: tuple[str, ...]) -> bool:
    labels = current["metadata"].get("labels") or {}
    return any(current.get(f) != desired.get(f) for f in fields) or labels != desired["metadata"]["labels"]


def reconcile(api: Api) -> None:
    """Bring Endpoints and EndpointSlices in line with Services and Running pods (caller holds the lock)."""
    store = api.store
    endpoints_type = api.registry.by_key(ENDPOINTS)
    slices_type = api.registry.by_key(SLICES)
    assert endpoints_type is not None
    assert slices_type is not None
    services = {
        (s["metadata"]["namespace"], s["metadata"]["name"]): s
        for s in store.list(SERVICES)
        if s.get("spec", {}).get("selector") and not s["metadata"].get("deletionTimestamp")
    }
    pods_by_namespace: dict[str, list[KubeObject]] = {}
    for pod in store.list(("", "pods")):
        pods_by_namespace.setdefault(pod["metadata"]["namespace"], []).append(pod)
    for (namespace, _), service in services.items():
        pods = pods_by_namespace.get(namespace, [])
        for resource, desired, fields in (
            (endpoints_type, desired_endpoints(service, pods), ("subsets",)),
            (slices_type, desired_slice(service, pods), ("endpoints", "ports")),
        ):
            current = store.get(resource.key, namespace, desired["metadata"]["name"])
            try:
                if current is None:
                    api.create_internal(resource, desired, manager="kube-controller-manager")
                elif _differs(current, desired, fields):
                    updated = copy.deepcopy(current)
                    for key in fields:
                        if key in desired:
                            updated[key] = desired[key]
                        else:
                            updated.pop(key, None)
                    updated["metadata"]["labels"] = desired["metadata"]["labels"]
                    api.update_internal(resource, updated)
            except ApiError:
                continue  # e.g. the namespace is terminating
    for stale in store.list(ENDPOINTS):
        where = (stale["metadata"]["namespace"], stale["metadata"]["name"])
        labels = stale["metadata"].get("labels") or {}
        if where not in services and labels.get("endpointslice.kubernetes.io/skip-mirror") == "true":
            api.delete_internal(endpoints_type, stale)
