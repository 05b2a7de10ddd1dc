"""Validation that bites DR tools: immutable fields, selectors, allocation conflicts."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Raw
from tests.sandbox.factories import deployment, eventually, pvc, service, statefulset


def _invalid(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    assert exc.value.status == 422
    body: dict[str, Any] = json.loads(exc.value.body)
    assert body["reason"] == "Invalid"
    return body


def _fields(body: dict[str, Any]) -> list[str]:
    return [c.get("field", "") for c in body["details"]["causes"]]


def test_service_gets_a_cluster_ip(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_service(ns, service("web"))
    assert ipaddress.ip_address(created.spec.cluster_ip)
    assert created.spec.cluster_ips == [created.spec.cluster_ip]


def test_cluster_ip_comes_from_the_cluster_range(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    created = core.create_namespaced_service(ns, service("web"))
    assert ipaddress.ip_address(created.spec.cluster_ip) in sandbox.allocator.network


def test_clusters_allocate_from_different_ranges(
    source_cluster: FakeCluster, dr_cluster: FakeCluster
) -> None:
    assert source_cluster.allocator.network != dr_cluster.allocator.network


def test_cluster_ip_is_immutable(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_service(ns, service("web"))
    other = str(ipaddress.ip_address(created.spec.cluster_ip) + 1)
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_service("web", ns, {"spec": {"clusterIP": other, "clusterIPs": [other]}})
    body = _invalid(exc)
    assert "spec.clusterIPs[0]" in _fields(body)
    assert "may not change once set" in body["message"]


def test_headless_service_keeps_none(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_service(ns, service("db", clusterIP="None"))
    assert created.spec.cluster_ip == "None"
    assert created.spec.cluster_ips == ["None"]


def test_duplicate_cluster_ip_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_service(ns, service("one"))
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, service("two", clusterIP=first.spec.cluster_ip))
    assert "provided IP is already allocated" in _invalid(exc)["message"]


def test_cluster_ip_outside_range_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, service("one", clusterIP="203.0.113.7"))
    assert "not in the valid range" in _invalid(exc)["message"]


def test_node_port_is_allocated(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_service(ns, service("np", type="NodePort"))
    assert 30000 <= created.spec.ports[0].node_port <= 32767


def test_node_port_conflict_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_service(ns, service("np", type="NodePort"))
    port = first.spec.ports[0].node_port
    body = service("np2", type="NodePort")
    body["spec"]["ports"][0]["nodePort"] = port
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, body)
    invalid = _invalid(exc)
    assert "spec.ports[0].nodePort" in _fields(invalid)
    assert "provided port is already allocated" in invalid["message"]


def test_node_port_out_of_range_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    body = service("np", type="NodePort")
    body["spec"]["ports"][0]["nodePort"] = 80
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, body)
    assert "provided port is not in the valid range" in _invalid(exc)["message"]


def test_deleting_a_service_frees_its_node_port(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_service(ns, service("np", type="NodePort"))
    port = first.spec.ports[0].node_port
    core.delete_namespaced_service("np", ns)
    body = service("np2", type="NodePort")
    body["spec"]["ports"][0]["nodePort"] = port
    assert core.create_namespaced_service(ns, body).spec.ports[0].node_port == port


def test_selector_must_match_template_labels(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment("web")
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as exc:
        apps.create_namespaced_deployment(ns, body)
    invalid = _invalid(exc)
    assert "spec.template.metadata.labels" in _fields(invalid)
    assert "`selector` does not match template `labels`" in invalid["message"]


def test_deployment_without_selector_is_invalid(raw: Raw, ns: str) -> None:
    body = deployment("web")
    del body["spec"]["selector"]
    status, result, _ = raw("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body)
    assert (status, result["reason"]) == (422, "Invalid")
    assert "spec.selector" in [c["field"] for c in result["details"]["causes"]]


def test_deployment_selector_is_immutable(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_deployment(ns, deployment("web"))
    labels = {"app": "web", "v": "2"}
    patch = {"spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}}}
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment("web", ns, patch)
    invalid = _invalid(exc)
    assert "spec.selector" in _fields(invalid)
    assert "field is immutable" in invalid["message"]


def test_deployment_without_containers_is_invalid(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"] = []
    with pytest.raises(ApiException) as exc:
        apps.create_namespaced_deployment(ns, body)
    assert "spec.template.spec.containers" in _fields(_invalid(exc))


def test_statefulset_allows_replicas_and_template_changes(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_stateful_set(ns, statefulset("db"))
    patched = apps.patch_namespaced_stateful_set("db", ns, {"spec": {"replicas": 2}})
    assert patched.spec.replicas == 2


def test_statefulset_forbids_other_spec_changes(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_stateful_set(ns, statefulset("db", claims=True))
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_stateful_set("db", ns, {"spec": {"serviceName": "other"}})
    invalid = _invalid(exc)
    assert "updates to statefulset spec for fields other than" in invalid["message"]


def test_statefulset_claim_templates_are_immutable(apps: client.AppsV1Api, ns: str) -> None:
    apps.create_namespaced_stateful_set(ns, statefulset("db", claims=True))
    bigger = statefulset("db", claims=True)["spec"]["volumeClaimTemplates"]
    bigger[0]["spec"]["resources"]["requests"]["storage"] = "5Gi"
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_stateful_set("db", ns, {"spec": {"volumeClaimTemplates": bigger}})
    _invalid(exc)


def _job(name: str, **spec: Any) -> dict[str, Any]:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": template, **spec},
    }


def test_job_selector_is_generated(batch: client.BatchV1Api, ns: str) -> None:
    job = batch.create_namespaced_job(ns, _job("j"))
    uid = job.metadata.uid
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    labels = job.spec.template.metadata.labels
    assert labels["controller-uid"] == uid
    assert labels["job-name"] == "j"
    assert labels["batch.kubernetes.io/job-name"] == "j"


def test_job_with_copied_selector_is_invalid(batch: client.BatchV1Api, ns: str) -> None:
    source = batch.create_namespaced_job(ns, _job("j"))
    copy = _job("j2", selector={"matchLabels": source.spec.selector.match_labels})
    copy["spec"]["template"]["metadata"] = {"labels": source.spec.template.metadata.labels}
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(ns, copy)
    assert "spec.selector" in _fields(_invalid(exc))


def test_job_with_manual_selector_is_accepted(batch: client.BatchV1Api, ns: str) -> None:
    body = _job("j", manualSelector=True, selector={"matchLabels": {"x": "y"}})
    body["spec"]["template"]["metadata"] = {"labels": {"x": "y"}}
    created = batch.create_namespaced_job(ns, body)
    assert created.spec.selector.match_labels == {"x": "y"}


def test_job_template_is_immutable(batch: client.BatchV1Api, ns: str) -> None:
    batch.create_namespaced_job(ns, _job("j"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "alpine"}]}}}}
    with pytest.raises(ApiException) as exc:
        batch.patch_namespaced_job("j", ns, patch)
    assert "spec.template" in _fields(_invalid(exc))


def test_job_restart_policy_always_is_invalid(batch: client.BatchV1Api, ns: str) -> None:
    body = _job("j")
    body["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(ns, body)
    _invalid(exc)


def test_pvc_spec_is_immutable(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_persistent_volume_claim(
            "data", ns, {"spec": {"accessModes": ["ReadWriteMany"]}}
        )
    assert "spec is immutable after creation" in _invalid(exc)["message"]


def test_bound_pvc_can_grow(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data"))
    eventually(lambda: core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Bound")
    grown = core.patch_namespaced_persistent_volume_claim(
        "data", ns, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    )
    assert grown.spec.resources.requests["storage"] == "2Gi"


def test_bound_pvc_cannot_shrink(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_persistent_volume_claim(ns, pvc("data", "2Gi"))
    eventually(lambda: core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Bound")
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_persistent_volume_claim(
            "data", ns, {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
        )
    _invalid(exc)


def test_pvc_without_access_modes_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_persistent_volume_claim(ns, pvc("data", accessModes=[]))
    assert "spec.accessModes" in _fields(_invalid(exc))


def test_immutable_config_map_data_cannot_change(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}, "immutable": True})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}})
    assert "field is immutable when `immutable` is set" in _invalid(exc)["message"]


def test_immutable_config_map_cannot_become_mutable(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}, "immutable": True})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("a", ns, {"immutable": False})
    _invalid(exc)


def test_immutable_config_map_labels_can_change(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}, "immutable": True})
    patched = core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"x": "y"}}})
    assert patched.metadata.labels == {"x": "y"}


def test_immutable_secret_data_cannot_change(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "data": {"k": "MQ=="}, "immutable": True})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_secret("s", ns, {"data": {"k": "Mg=="}})
    _invalid(exc)


def test_secret_type_is_immutable(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "type": "Opaque"})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_secret("s", ns, {"type": "kubernetes.io/dockerconfigjson"})
    invalid = _invalid(exc)
    assert "type" in _fields(invalid)
    assert "field is immutable" in invalid["message"]
