"""Subresources: status (main writes ignore it), scale (autoscaling/v1 Scale), namespace finalize."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.sandbox.conftest import Raw
from tests.sandbox.factories import deployment, statefulset


def test_main_write_ignores_status(raw: Raw, ns: str) -> None:
    body = deployment("web")
    body["status"] = {"replicas": 42}
    status, created, _ = raw("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body)
    assert status == 201
    assert created.get("status", {}).get("replicas") != 42


def test_status_update_changes_status_only(raw: Raw, apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=1))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web/status"
    patch = {"spec": {"replicas": 5}, "status": {"observedGeneration": 7}}
    status, body, _ = raw("PATCH", path, patch, content_type="application/merge-patch+json")
    assert status == 200
    assert body["status"]["observedGeneration"] == 7
    assert body["spec"]["replicas"] == 1


def test_get_status_subresource_returns_the_object(raw: Raw, apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web"))
    status, body, _ = raw("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web/status")
    assert (status, body["kind"]) == (200, "Deployment")


def test_unknown_subresource_is_404(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    status, _, _ = raw("GET", f"/api/v1/namespaces/{ns}/configmaps/a/status")
    assert status == 404


def test_read_scale(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.kind == "Scale"
    assert scale.api_version == "autoscaling/v1"
    assert scale.spec.replicas == 2
    assert scale.status.selector == "app=web"


def test_patch_scale(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 0}})
    assert scale.spec.replicas == 0
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 0


def test_replace_scale(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    statuses = []
    for _ in range(10):  # controllers write status concurrently, as on a real cluster: retry on 409
        scale = apps.read_namespaced_deployment_scale("web", ns)
        scale.spec.replicas = 4
        try:
            replaced = apps.replace_namespaced_deployment_scale("web", ns, scale)
        except ApiException as exc:
            statuses.append(exc.status)
            continue
        assert replaced.spec.replicas == 4
        break
    assert set(statuses) <= {409}
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 4


def test_replace_scale_with_stale_version_conflicts(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    scale = apps.read_namespaced_deployment_scale("web", ns)
    apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"x": "y"}}})
    scale.spec.replicas = 4
    with pytest.raises(ApiException) as exc:
        apps.replace_namespaced_deployment_scale("web", ns, scale)
    assert exc.value.status == 409


def test_scale_statefulset(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_stateful_set(ns, statefulset("db", replicas=1))
    assert apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 3}}).spec.replicas == 3


def test_scale_bumps_generation(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", ns).metadata.generation == 2


def test_negative_scale_is_invalid(raw: Raw, apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web"))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale"
    status, body, _ = raw(
        "PATCH", path, {"spec": {"replicas": -1}}, content_type="application/merge-patch+json"
    )
    assert (status, body["reason"]) == (422, "Invalid")


def test_scale_of_missing_deployment_is_404(apps: client.AppsV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        apps.read_namespaced_deployment_scale("none", ns)
    assert exc.value.status == 404


def test_namespace_finalize_clears_spec_finalizers(core: client.CoreV1Api) -> None:
    import uuid

    name = f"ct-fin-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    body = core.read_namespace(name)
    body.spec.finalizers = []
    finalized = core.replace_namespace_finalize(name, body)
    assert not finalized.spec.finalizers
    core.delete_namespace(name)
