"""Factories for Kubernetes objects as the source API server returns them.

Tests build objects with these (``make_deployment(replicas=3)``) instead of pasting YAML. By default each
object carries the metadata a real server adds (uid, resourceVersion, creationTimestamp, managedFields)
so rules that strip it are exercised; pass ``server_fields=False`` for a bare object.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from drsyncer.objects import KubeObject
from tasks.transform.context import TransformContext

SOURCE_NS = "shop"
DR_NS = "shop-dr"


def make_metadata(
    name: str,
    namespace: str | None = SOURCE_NS,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owner: dict[str, Any] | None = None,
    server_fields: bool = True,
) -> dict[str, Any]:
    """Metadata with the given name, namespace, labels, annotations and (controller) owner."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = dict(labels)
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    if server_fields:
        metadata.update(
            uid="0b4d6a52-1111-4c3e-9d7f-2a6c1f0e9b21",
            resourceVersion="12345",
            creationTimestamp="2026-01-02T03:04:05Z",
            managedFields=[
                make_managed_entry("kubectl-client-side-apply", {"f:metadata": {}}, operation="Update")
            ],
        )
    return metadata


def make_managed_entry(manager: str, fields: dict[str, Any], *, operation: str = "Apply") -> dict[str, Any]:
    """One managedFields entry in FieldsV1 form."""
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "time": "2026-01-02T03:04:05Z",
    }


def make_pod_template(
    *, labels: dict[str, str] | None = None, env: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A pod template with one container ``app`` (image ``nginx:1.27``) and optional env."""
    container: dict[str, Any] = {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
    if env is not None:
        container["env"] = env
    return {"metadata": {"labels": dict(labels or {"app": "web"})}, "spec": {"containers": [container]}}


def _workload(
    kind: str,
    name: str,
    *,
    replicas: int | None,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
    env: list[dict[str, Any]] | None,
    server_fields: bool,
) -> KubeObject:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": make_pod_template(env=env),
    }
    if replicas is not None:
        spec["replicas"] = replicas
    obj: KubeObject = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": make_metadata(name, labels=labels, annotations=annotations, server_fields=server_fields),
        "spec": spec,
    }
    if server_fields:
        obj["status"] = {"replicas": replicas or 0, "readyReplicas": replicas or 0}
    return obj


def make_deployment(
    name: str = "web",
    *,
    replicas: int | None = 3,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    env: list[dict[str, Any]] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """An apps/v1 Deployment with ``replicas`` (None omits the field)."""
    return _workload(
        "Deployment",
        name,
        replicas=replicas,
        labels=labels,
        annotations=annotations,
        env=env,
        server_fields=server_fields,
    )


def make_statefulset(
    name: str = "db",
    *,
    replicas: int | None = 3,
    labels: dict[str, str] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """An apps/v1 StatefulSet with ``replicas``."""
    obj = _workload(
        "StatefulSet",
        name,
        replicas=replicas,
        labels=labels,
        annotations=None,
        env=None,
        server_fields=server_fields,
    )
    obj["spec"]["serviceName"] = name
    return obj


def make_replicaset(
    name: str = "web-5d8f", *, replicas: int | None = 2, server_fields: bool = True
) -> KubeObject:
    """A standalone apps/v1 ReplicaSet."""
    return _workload(
        "ReplicaSet",
        name,
        replicas=replicas,
        labels=None,
        annotations=None,
        env=None,
        server_fields=server_fields,
    )


def make_daemonset(
    name: str = "agent",
    *,
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """An apps/v1 DaemonSet, optionally with a pod nodeSelector."""
    obj = _workload(
        "DaemonSet",
        name,
        replicas=None,
        labels=labels,
        annotations=None,
        env=None,
        server_fields=server_fields,
    )
    if node_selector is not None:
        obj["spec"]["template"]["spec"]["nodeSelector"] = dict(node_selector)
    return obj


def make_cronjob(
    name: str = "report",
    *,
    suspend: bool | None = False,
    labels: dict[str, str] | None = None,
    env: list[dict[str, Any]] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """A batch/v1 CronJob running every hour (``suspend`` None omits the field)."""
    spec: dict[str, Any] = {
        "schedule": "0 * * * *",
        "jobTemplate": {"spec": {"template": make_pod_template(env=env)}},
    }
    if suspend is not None:
        spec["suspend"] = suspend
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": make_metadata(name, labels=labels, server_fields=server_fields),
        "spec": spec,
    }


def make_job(
    name: str = "migrate",
    *,
    generated_selector: bool = True,
    extra_selector: dict[str, str] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """A batch/v1 Job as read back from a server: with its generated controller-uid selector and labels."""
    generated = {
        "batch.kubernetes.io/controller-uid": "77c1a1b2-0000-4000-8000-000000000001",
        "batch.kubernetes.io/job-name": name,
        "controller-uid": "77c1a1b2-0000-4000-8000-000000000001",
        "job-name": name,
    }
    selector_labels = {**(generated if generated_selector else {}), **(extra_selector or {})}
    template = make_pod_template(labels={**selector_labels, "app": "migrate"})
    spec: dict[str, Any] = {"template": template, "backoffLimit": 6}
    if selector_labels:
        spec["selector"] = {"matchLabels": selector_labels}
    if extra_selector:
        spec["manualSelector"] = True
    labels = dict(generated) if generated_selector else {"app": "migrate"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": make_metadata(name, labels=labels, server_fields=server_fields),
        "spec": spec,
    }


def make_service(
    name: str = "web",
    *,
    cluster_ip: str | None = "10.96.12.34",
    service_type: str = "ClusterIP",
    node_port: int | None = None,
    health_check_node_port: int | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """A v1 Service on port 80 (``cluster_ip="None"`` makes it headless)."""
    port: dict[str, Any] = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
    if node_port is not None:
        port["nodePort"] = node_port
    spec: dict[str, Any] = {"type": service_type, "selector": {"app": "web"}, "ports": [port]}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
        spec["clusterIPs"] = [cluster_ip]
    if health_check_node_port is not None:
        spec["healthCheckNodePort"] = health_check_node_port
        spec["externalTrafficPolicy"] = "Local"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": make_metadata(name, labels=labels, annotations=annotations, server_fields=server_fields),
        "spec": spec,
    }


def make_configmap(
    name: str = "settings",
    *,
    data: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owner: dict[str, Any] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """A v1 ConfigMap."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": make_metadata(
            name, labels=labels, annotations=annotations, owner=owner, server_fields=server_fields
        ),
        "data": dict(data if data is not None else {"mode": "production"}),
    }


def make_secret(
    name: str = "credentials",
    *,
    data: dict[str, str] | None = None,
    secret_type: str = "Opaque",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """A v1 Secret (``data`` values are base64 text)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": secret_type,
        "metadata": make_metadata(name, labels=labels, annotations=annotations, server_fields=server_fields),
        "data": dict(data if data is not None else {"password": "aHVudGVyMg=="}),
    }


def make_ingress(
    name: str = "web", *, annotations: dict[str, str] | None = None, server_fields: bool = True
) -> KubeObject:
    """A networking.k8s.io/v1 Ingress with TLS, a class and one rule."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": make_metadata(name, annotations=annotations, server_fields=server_fields),
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def make_pvc(
    name: str = "data",
    *,
    storage: str = "10Gi",
    storage_class: str | None = "standard",
    access_modes: list[str] | None = None,
    volume_name: str | None = "pvc-3f2a",
    volume_mode: str | None = "Filesystem",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    server_fields: bool = True,
) -> KubeObject:
    """A bound v1 PersistentVolumeClaim as the source server returns it."""
    spec: dict[str, Any] = {
        "accessModes": list(access_modes or ["ReadWriteOnce"]),
        "resources": {"requests": {"storage": storage}},
    }
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    if volume_name is not None:
        spec["volumeName"] = volume_name
    if volume_mode is not None:
        spec["volumeMode"] = volume_mode
    obj: KubeObject = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": make_metadata(name, labels=labels, annotations=annotations, server_fields=server_fields),
        "spec": spec,
    }
    if server_fields:
        obj["status"] = {"phase": "Bound", "capacity": {"storage": storage}}
    return obj


def make_pv(name: str = "pvc-3f2a", *, claim: str = "data", claim_namespace: str = SOURCE_NS) -> KubeObject:
    """A cluster-scoped v1 PersistentVolume bound to ``claim_namespace/claim``."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": make_metadata(name, namespace=None),
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"],
            "claimRef": {
                "kind": "PersistentVolumeClaim",
                "namespace": claim_namespace,
                "name": claim,
                "uid": "9f1e0000-0000-4000-8000-000000000002",
                "resourceVersion": "999",
            },
            "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"},
        },
    }


def make_role_binding(
    name: str = "app-reader", *, subjects: list[dict[str, Any]] | None = None
) -> KubeObject:
    """An rbac.authorization.k8s.io/v1 RoleBinding of Role ``reader``."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": make_metadata(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": subjects
        if subjects is not None
        else [{"kind": "ServiceAccount", "name": "app", "namespace": SOURCE_NS}],
    }


def make_service_account(name: str = "app", *, server_fields: bool = True) -> KubeObject:
    """A v1 ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": make_metadata(name, server_fields=server_fields),
    }


def make_context(**overrides: Any) -> TransformContext:
    """A TransformContext from ``shop`` to ``shop-dr`` with the defaults, overridden by keyword."""
    values: dict[str, Any] = {"source_namespace": SOURCE_NS, "destination_namespace": DR_NS}
    values.update(overrides)
    return TransformContext(**values)


def as_live(obj: KubeObject, *, manager_fields: dict[str, Any] | None = None) -> KubeObject:
    """``obj`` as the DR server would return it after an apply: server metadata and our managedFields."""
    live = copy.deepcopy(obj)
    metadata = live.setdefault("metadata", {})
    metadata.update(uid="c0ffee00-0000-4000-8000-000000000003", resourceVersion="77", generation=1)
    entries = [make_managed_entry("dr-syncer", manager_fields)] if manager_fields is not None else []
    metadata["managedFields"] = entries
    return live


def fields_v1_of(value: Any) -> dict[str, Any]:
    """The FieldsV1 trie a server records for applying ``value`` (lists keyed by name or port)."""
    fields: dict[str, Any] = {}
    for key, item in value.items():
        fields[f"f:{key}"] = _fields_v1_value(item)
    return fields


def _fields_v1_value(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return fields_v1_of(item) if item else {}
    if isinstance(item, list) and item and all(isinstance(element, dict) for element in item):
        keyed: dict[str, Any] = {}
        for element in item:
            key = _list_key(element)
            if key is None:
                return {}
            keyed[f"k:{key}"] = {".": {}, **fields_v1_of(element)}
        return keyed
    return {}


def _list_key(element: dict[str, Any]) -> str | None:
    if "name" in element:
        return json.dumps({"name": element["name"]}, separators=(",", ":"))
    if "containerPort" in element:
        return json.dumps(
            {"containerPort": element["containerPort"], "protocol": element.get("protocol", "TCP")},
            separators=(",", ":"),
        )
    return None


def applied(desired: KubeObject, *, server_defaults: dict[str, Any] | None = None) -> KubeObject:
    """``desired`` as live in DR after dr-syncer applied it: managedFields, server metadata, defaults."""
    live = as_live(desired, manager_fields=fields_v1_of(desired))
    for dotted, value in (server_defaults or {}).items():
        target: Any = live
        parts = dotted.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        target[parts[-1]] = value
    return live
