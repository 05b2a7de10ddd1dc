"""A no-op re-sync stays zero writes with DR's own controllers and webhooks writing to the copies.

Keyed lists are compared by key (a webhook's sidecar or env var is not a difference), the Deployment
controller's revision annotation is neither copied nor compared, and any other field a DR controller has
taken over is left to it — except the fields that keep the copy at rest.
"""

from __future__ import annotations

import copy
from typing import Any

from drsyncer.objects import KubeObject
from tasks.plan.diff import field_differences
from tasks.plan.list_keys import list_keys
from tasks.plan.planner import plan_object
from tasks.transform.runner import transform_object
from tests.factories import applied, make_context, make_deployment, make_managed_entry, make_service

CTX = make_context()
REVISION = "deployment.kubernetes.io/revision"


def _desired_deployment(**kwargs: Any) -> KubeObject:
    return transform_object(make_deployment(**kwargs), CTX).obj


def _containers(obj: KubeObject) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def _controller_writes(live: KubeObject, manager: str, fields: dict[str, Any]) -> None:
    live["metadata"]["managedFields"].append(make_managed_entry(manager, fields, operation="Update"))


def test_source_revision_annotation_is_not_copied() -> None:
    desired = _desired_deployment(annotations={REVISION: "7", "team": "shop"})
    assert desired["metadata"]["annotations"] == {
        "team": "shop",
        "dr-syncer.io/original-replicas": "3",
        "dr-syncer.io/source-namespace": "shop",
    }


def test_deployment_with_dr_revision_is_unchanged() -> None:
    desired = _desired_deployment(annotations={REVISION: "7"})
    live = applied(desired)
    live["metadata"]["annotations"][REVISION] = "1"
    _controller_writes(
        live, "kube-controller-manager", {"f:metadata": {"f:annotations": {f"f:{REVISION}": {}}}}
    )
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "unchanged", entry.diff


def test_webhook_sidecar_and_env_var_are_not_a_difference() -> None:
    desired = _desired_deployment(env=[{"name": "MODE", "value": "dr"}])
    live = applied(desired)
    _containers(live)[0]["env"].append({"name": "INJECTED", "value": "1"})
    _containers(live).insert(0, {"name": "istio-proxy", "image": "proxy:1"})
    assert field_differences(desired, live) == []
    assert plan_object(desired, live, prune=False).action == "unchanged"


def test_changed_image_is_found_in_the_keyed_container_even_behind_a_sidecar() -> None:
    desired = _desired_deployment()
    live = applied(desired)
    _containers(live).insert(0, {"name": "istio-proxy", "image": "proxy:1"})
    _containers(desired)[0]["image"] = "nginx:1.28"
    differences = field_differences(desired, live)
    assert differences == [
        (("spec", "template", "spec", "containers", 0, "image"), "nginx:1.27", "nginx:1.28")
    ]


def test_container_missing_in_dr_is_a_difference() -> None:
    desired = _desired_deployment()
    live = applied(desired)
    _containers(desired).append({"name": "worker", "image": "busybox"})
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    assert [d.path for d in entry.diff] == ["spec.template.spec.containers[1]"]


def test_a_container_removed_at_the_source_is_still_removed() -> None:
    source = make_deployment()
    _containers(source).append({"name": "worker", "image": "busybox"})
    live = applied(transform_object(source, CTX).obj)
    desired = _desired_deployment()
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    assert any(d.change == "removed" and "containers" in d.path for d in entry.diff)


def test_service_ports_are_keyed_by_port_and_protocol() -> None:
    assert list_keys("Service", ("spec", "ports")) == ("port", "protocol")
    assert list_keys("Deployment", ("spec", "template", "spec", "containers", 0, "ports")) == (
        "containerPort",
        "protocol",
    )
    assert list_keys("Widget", ("spec", "containers")) is None
    desired = transform_object(make_service(), CTX).obj
    live = applied(desired)
    live["spec"]["ports"].insert(0, {"name": "metrics", "port": 9090, "protocol": "TCP"})
    assert field_differences(desired, live) == []


def test_custom_resource_lists_stay_atomic() -> None:
    desired: KubeObject = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"containers": [{"name": "a"}]},
    }
    live = applied(desired)
    live["spec"]["containers"].append({"name": "b"})
    assert field_differences(desired, live) != []


def test_field_a_dr_controller_took_over_is_left_to_it_and_not_sent() -> None:
    desired = _desired_deployment()
    desired["spec"]["template"]["metadata"]["annotations"] = {"operator/hash": "source"}
    live = applied(desired)
    live["spec"]["template"]["metadata"]["annotations"]["operator/hash"] = "dr"
    ours = live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:metadata"]
    del ours["f:annotations"]  # a changing Update takes the field from its previous owner
    _controller_writes(
        live,
        "shop-operator",
        {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:operator/hash": {}}}}}},
    )
    unchanged = plan_object(desired, live, prune=False)
    assert unchanged.action == "unchanged"
    assert "shop-operator" in unchanged.reason
    _containers(desired)[0]["image"] = "nginx:1.28"
    update = plan_object(desired, live, prune=False)
    assert update.action == "update"
    assert [d.path for d in update.diff] == ["spec.template.spec.containers[0].image"]
    assert update.obj is not None
    assert "annotations" not in update.obj["spec"]["template"]["metadata"]


def test_hand_edits_in_dr_are_taken_back() -> None:
    desired = _desired_deployment()
    live = applied(desired)
    _containers(live)[0]["image"] = "nginx:hotfix"
    _controller_writes(
        live,
        "kubectl-edit",
        {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {"f:image": {}}}}}}},
    )
    assert plan_object(desired, live, prune=False).action == "update"


def test_replicas_taken_over_by_a_scaler_are_taken_back() -> None:
    desired = _desired_deployment()
    live = applied(desired)
    live["spec"]["replicas"] = 4
    _controller_writes(live, "keda-operator", {"f:spec": {"f:replicas": {}}})
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    assert [d.path for d in entry.diff] == ["spec.replicas"]


def test_plan_does_not_change_its_inputs() -> None:
    desired = _desired_deployment()
    live = applied(desired)
    live["metadata"]["annotations"][REVISION] = "1"
    before = (copy.deepcopy(desired), copy.deepcopy(live))
    plan_object(desired, live, prune=False)
    assert (desired, live) == before


def test_object_not_yet_managed_by_dr_syncer_is_taken_over_whole() -> None:
    desired = _desired_deployment()
    live = applied(desired)
    live["metadata"]["managedFields"] = [
        make_managed_entry(
            "helm", {"f:spec": {"f:template": {"f:spec": {"f:containers": {}}}}}, operation="Update"
        )
    ]
    _containers(live)[0]["image"] = "nginx:from-helm"
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    assert [d.path for d in entry.diff] == ["spec.template.spec.containers[0].image"]
    assert "apply takes it over" in entry.reason


def test_token_a_dr_legacy_controller_adds_to_a_service_account_is_no_difference() -> None:
    desired: KubeObject = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "app"},
        "secrets": [{"name": "shared"}],
        "imagePullSecrets": [{"name": "regcred"}],
    }
    live = applied(desired)
    live["secrets"].append({"name": "app-token-dr123"})
    assert field_differences(desired, live) == []
    live["imagePullSecrets"].append({"name": "other"})
    assert field_differences(desired, live) != []
