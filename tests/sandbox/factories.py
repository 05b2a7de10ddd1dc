"""Object factories and polling for the sandbox contract suite."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from drsyncer.objects import KubeObject


def eventually(check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns a truthy value or the deadline passes (then fail)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def deployment(name: str, *, replicas: int = 1, labels: dict[str, str] | None = None) -> KubeObject:
    """A minimal valid Deployment."""
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
                },
            },
        },
    }


def statefulset(name: str, *, replicas: int = 1, claims: bool = False) -> KubeObject:
    """A minimal valid StatefulSet (optionally with a 1Gi claim template ``data``)."""
    labels = {"app": name}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": name,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
        },
    }
    if claims:
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        ]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": spec}


def service(name: str, **spec: Any) -> KubeObject:
    """A Service on port 80 selecting ``app=name``."""
    body: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": 80}], **spec}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": body}


def pvc(name: str, size: str = "1Gi", **spec: Any) -> KubeObject:
    """A ReadWriteOnce claim."""
    body: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        **spec,
    }
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": body}


def crd(plural: str = "widgets", kind: str = "Widget", group: str = "example.dr-syncer.io") -> KubeObject:
    """A namespaced CRD with status and scale subresources, served in v1 (storage) and v1beta1."""
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    subresources = {
        "status": {},
        "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "shortNames": [plural[:3]]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": schema,
                    "subresources": subresources,
                },
                {"name": "v1beta1", "served": True, "storage": False, "schema": schema},
            ],
        },
    }
