"""Discovery: /version, /api, /apis, group and resource lists, as a real kube-apiserver serves them."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from tests.sandbox.conftest import Raw

KINDS = [
    # (groupVersion, plural, kind, namespaced, a short name or None)
    ("v1", "namespaces", "Namespace", False, "ns"),
    ("v1", "configmaps", "ConfigMap", True, "cm"),
    ("v1", "secrets", "Secret", True, None),
    ("v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    ("v1", "services", "Service", True, "svc"),
    ("v1", "endpoints", "Endpoints", True, "ep"),
    ("v1", "pods", "Pod", True, "po"),
    ("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc"),
    ("v1", "persistentvolumes", "PersistentVolume", False, "pv"),
    ("v1", "nodes", "Node", False, "no"),
    ("v1", "events", "Event", True, "ev"),
    ("apps/v1", "deployments", "Deployment", True, "deploy"),
    ("apps/v1", "statefulsets", "StatefulSet", True, "sts"),
    ("apps/v1", "daemonsets", "DaemonSet", True, "ds"),
    ("apps/v1", "replicasets", "ReplicaSet", True, "rs"),
    ("batch/v1", "jobs", "Job", True, None),
    ("batch/v1", "cronjobs", "CronJob", True, "cj"),
    ("networking.k8s.io/v1", "ingresses", "Ingress", True, "ing"),
    ("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, "netpol"),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", True, None),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True, None),
    ("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False, None),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False, None),
    ("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa"),
    ("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb"),
    ("storage.k8s.io/v1", "storageclasses", "StorageClass", False, "sc"),
    ("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False, "crd"),
]


def _path(group_version: str) -> str:
    return f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"


def test_version_satisfies_the_typed_client(api: client.ApiClient) -> None:
    info = client.VersionApi(api).get_code()
    assert info.git_version.startswith("v1.")
    for value in (info.major, info.minor, info.build_date, info.go_version, info.platform, info.compiler):
        assert value


@pytest.mark.parametrize("path", ["/api", "/api/"])
def test_core_api_versions(raw: Raw, path: str) -> None:
    status, body, _ = raw("GET", path)
    assert status == 200
    assert body["kind"] == "APIVersions"
    assert body["versions"] == ["v1"]


@pytest.mark.parametrize("path", ["/apis", "/apis/"])
def test_group_list_has_apps_with_preferred_version(raw: Raw, path: str) -> None:
    status, body, _ = raw("GET", path)
    assert status == 200
    assert body["kind"] == "APIGroupList"
    apps = next(g for g in body["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}


@pytest.mark.parametrize("path", ["/apis/apps", "/apis/apps/"])
def test_single_group(raw: Raw, path: str) -> None:
    status, body, _ = raw("GET", path)
    assert status == 200
    assert body["kind"] == "APIGroup"
    assert body["name"] == "apps"


@pytest.mark.parametrize("path", ["/api/v1", "/api/v1/", "/apis/apps/v1", "/apis/apps/v1/"])
def test_resource_list(raw: Raw, path: str) -> None:
    status, body, _ = raw("GET", path)
    assert status == 200
    assert body["kind"] == "APIResourceList"
    assert body["groupVersion"] == path.strip("/").split("/", 1)[1]


@pytest.mark.parametrize(("group_version", "plural", "kind", "namespaced", "short"), KINDS)
def test_builtin_kind_is_discoverable(
    raw: Raw, group_version: str, plural: str, kind: str, namespaced: bool, short: str | None
) -> None:
    _, body, _ = raw("GET", _path(group_version))
    entry = next(r for r in body["resources"] if r["name"] == plural)
    assert entry["kind"] == kind
    assert entry["namespaced"] is namespaced
    assert entry["singularName"] == kind.lower()
    assert {"create", "delete", "get", "list", "patch", "update", "watch"} <= set(entry["verbs"])
    if short:
        assert short in entry["shortNames"]


@pytest.mark.parametrize(
    ("group_version", "subresource"),
    [
        ("apps/v1", "deployments/scale"),
        ("apps/v1", "statefulsets/scale"),
        ("apps/v1", "replicasets/scale"),
        ("apps/v1", "deployments/status"),
        ("v1", "pods/status"),
        ("v1", "namespaces/finalize"),
    ],
)
def test_subresources_are_listed(raw: Raw, group_version: str, subresource: str) -> None:
    _, body, _ = raw("GET", _path(group_version))
    entry = next(r for r in body["resources"] if r["name"] == subresource)
    if subresource.endswith("/scale"):
        assert (entry["group"], entry["version"], entry["kind"]) == ("autoscaling", "v1", "Scale")


def test_unknown_group_is_404(raw: Raw) -> None:
    status, body, _ = raw("GET", "/apis/nope.example.com/v1")
    assert status == 404
    assert body["reason"] == "NotFound"


def test_aggregated_accept_header_gets_a_usable_answer(raw: Raw) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, body, headers = raw("GET", "/apis", accept=accept)
    assert status == 200
    content_type = {k.lower(): v for k, v in headers.items()}["content-type"]
    if "APIGroupDiscoveryList" in content_type:
        assert body["kind"] == "APIGroupDiscoveryList"
    else:
        assert body["kind"] == "APIGroupList"


def test_dynamic_client_finds_kinds_by_short_name(dyn: DynamicClient) -> None:
    resource = dyn.resources.get(short_names=["deploy"])
    assert resource.kind == "Deployment"
    assert resource.group_version == "apps/v1"


def test_table_requested_by_accept_header(raw: Raw) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    status, body, _ = raw("GET", "/api/v1/namespaces", accept=accept)
    assert status == 200
    assert (body["kind"], body["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert body["columnDefinitions"][0]["name"] == "Name"
    names = [row["cells"][0] for row in body["rows"]]
    assert "default" in names
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
