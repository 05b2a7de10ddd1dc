"""Every built-in kind round-trips through the strict typed client: create, read, list, delete."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.sandbox.factories import deployment, eventually, pvc, service, statefulset

POD_SPEC = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}

# (api class, method suffix, body, namespaced)
KINDS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("CoreV1Api", "config_map", {"metadata": {"name": "x"}, "data": {"k": "v"}}, True),
    ("CoreV1Api", "secret", {"metadata": {"name": "x"}, "stringData": {"k": "v"}}, True),
    ("CoreV1Api", "service_account", {"metadata": {"name": "x"}}, True),
    ("CoreV1Api", "service", service("x"), True),
    ("CoreV1Api", "endpoints", {"metadata": {"name": "x"}, "subsets": []}, True),
    ("CoreV1Api", "pod", {"metadata": {"name": "x"}, "spec": POD_SPEC}, True),
    ("CoreV1Api", "persistent_volume_claim", pvc("x"), True),
    ("CoreV1Api", "event", {"metadata": {"name": "x"}, "involvedObject": {"kind": "Pod", "name": "p"}}, True),
    ("CoreV1Api", "limit_range", {"metadata": {"name": "x"}, "spec": {"limits": []}}, True),
    ("CoreV1Api", "resource_quota", {"metadata": {"name": "x"}, "spec": {"hard": {"pods": "10"}}}, True),
    ("AppsV1Api", "deployment", deployment("x"), True),
    ("AppsV1Api", "stateful_set", statefulset("x"), True),
    ("AppsV1Api", "daemon_set", {**deployment("x"), "kind": "DaemonSet"}, True),
    (
        "AppsV1Api",
        "replica_set",
        {**deployment("x"), "kind": "ReplicaSet"},
        True,
    ),
    ("BatchV1Api", "job", {"metadata": {"name": "x"}, "spec": {"template": {"spec": POD_SPEC}}}, True),
    (
        "BatchV1Api",
        "cron_job",
        {
            "metadata": {"name": "x"},
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}},
        },
        True,
    ),
    (
        "NetworkingV1Api",
        "ingress",
        {
            "metadata": {"name": "x"},
            "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}},
        },
        True,
    ),
    ("NetworkingV1Api", "network_policy", {"metadata": {"name": "x"}, "spec": {"podSelector": {}}}, True),
    ("RbacAuthorizationV1Api", "role", {"metadata": {"name": "x"}, "rules": []}, True),
    (
        "RbacAuthorizationV1Api",
        "role_binding",
        {
            "metadata": {"name": "x"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
        },
        True,
    ),
    (
        "AutoscalingV2Api",
        "horizontal_pod_autoscaler",
        {
            "metadata": {"name": "x"},
            "spec": {
                "maxReplicas": 3,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
            },
        },
        True,
    ),
    (
        "PolicyV1Api",
        "pod_disruption_budget",
        {"metadata": {"name": "x"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}}},
        True,
    ),
]


@pytest.mark.parametrize(("api_class", "suffix", "body", "namespaced"), KINDS, ids=[k[1] for k in KINDS])
def test_typed_round_trip(
    api: client.ApiClient, ns: str, api_class: str, suffix: str, body: dict[str, Any], namespaced: bool
) -> None:
    typed = getattr(client, api_class)(api)
    body = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    if suffix == "daemon_set":
        body["spec"] = {k: v for k, v in body["spec"].items() if k != "replicas"}
    created = getattr(typed, f"create_namespaced_{suffix}")(ns, body)
    assert created.metadata.name == "x"
    assert created.metadata.uid
    read = getattr(typed, f"read_namespaced_{suffix}")("x", ns)
    assert read.metadata.uid == created.metadata.uid
    listed = getattr(typed, f"list_namespaced_{suffix}")(ns)
    assert "x" in [i.metadata.name for i in listed.items]
    getattr(typed, f"delete_namespaced_{suffix}")("x", ns)

    def gone() -> bool:  # PVCs keep their protection finalizer a moment longer
        try:
            getattr(typed, f"read_namespaced_{suffix}")("x", ns)
        except ApiException as exc:
            return exc.status == 404
        return False

    assert eventually(gone)


@pytest.mark.parametrize(
    ("api_class", "suffix", "body"),
    [
        ("RbacAuthorizationV1Api", "cluster_role", {"rules": []}),
        (
            "RbacAuthorizationV1Api",
            "cluster_role_binding",
            {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"}},
        ),
        ("StorageV1Api", "storage_class", {"provisioner": "example.com/none"}),
        (
            "CoreV1Api",
            "persistent_volume",
            {
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "hostPath": {"path": "/x"},
                }
            },
        ),
        ("NetworkingV1Api", "ingress_class", {"spec": {"controller": "example.com/ingress"}}),
    ],
)
def test_typed_round_trip_cluster_scoped(
    api: client.ApiClient, api_class: str, suffix: str, body: dict[str, Any]
) -> None:
    import uuid

    name = f"ct-{uuid.uuid4().hex[:8]}"
    typed = getattr(client, api_class)(api)
    created = getattr(typed, f"create_{suffix}")({"metadata": {"name": name}, **body})
    assert created.metadata.namespace is None
    assert getattr(typed, f"read_{suffix}")(name).metadata.uid == created.metadata.uid
    assert name in [i.metadata.name for i in getattr(typed, f"list_{suffix}")().items]
    getattr(typed, f"delete_{suffix}")(name)
