"""Rules for what real clusters do to DR copies: node ports, load balancers, service accounts, Jobs,
scalers and custom workloads, claim templates, namespace metadata."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from drsyncer.objects import KubeObject
from tasks.transform.context import KEDA_SCALED_OBJECT, WorkloadParking
from tasks.transform.runner import transform_object
from tests.factories import make_context, make_job, make_managed_entry, make_service, make_statefulset

CTX = make_context()
PAUSED = "autoscaling.keda.sh/paused-replicas"


def _node_port_owner(manager: str) -> dict[str, Any]:
    key = 'k:{"port":80,"protocol":"TCP"}'
    fields: dict[str, Any] = {"f:spec": {"f:ports": {key: {".": {}, "f:nodePort": {}, "f:port": {}}}}}
    return make_managed_entry(manager, fields, operation="Update")


# --- Services -----------------------------------------------------------------------------------


def test_node_port_owned_by_a_user_manager_is_kept() -> None:
    source = make_service(service_type="NodePort", node_port=30080)
    source["metadata"]["managedFields"] = [_node_port_owner("kubectl-create")]
    assert transform_object(source, CTX).obj["spec"]["ports"][0]["nodePort"] == 30080


def test_node_port_named_in_last_applied_configuration_is_kept() -> None:
    applied = {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    source = make_service(
        service_type="NodePort",
        node_port=30080,
        annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)},
    )
    obj = transform_object(source, CTX).obj
    assert obj["spec"]["ports"][0]["nodePort"] == 30080
    assert "annotations" not in obj["metadata"]


def test_node_port_owned_only_by_the_allocator_is_dropped() -> None:
    source = make_service(service_type="NodePort", node_port=30080)
    source["metadata"]["managedFields"] = [_node_port_owner("kube-apiserver")]
    assert "nodePort" not in transform_object(source, CTX).obj["spec"]["ports"][0]


def test_load_balancer_is_kept_by_default() -> None:
    source = make_service(service_type="LoadBalancer", node_port=30080)
    source["spec"]["loadBalancerSourceRanges"] = ["10.0.0.0/8"]
    spec = transform_object(source, CTX).obj["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["loadBalancerSourceRanges"] == ["10.0.0.0/8"]


def test_load_balancer_becomes_cluster_ip_when_configured() -> None:
    source = make_service(service_type="LoadBalancer", node_port=30080, health_check_node_port=31000)
    source["metadata"]["managedFields"] = [_node_port_owner("kubectl-create")]
    source["spec"].update(loadBalancerIP="1.2.3.4", loadBalancerSourceRanges=["10.0.0.0/8"])
    spec = transform_object(source, make_context(load_balancer="ClusterIP")).obj["spec"]
    assert spec["type"] == "ClusterIP"
    assert not {"loadBalancerIP", "loadBalancerSourceRanges", "externalTrafficPolicy"} & set(spec)
    assert "nodePort" not in spec["ports"][0]


# --- ServiceAccounts ----------------------------------------------------------------------------


def _service_account(name: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": "shop"},
        "secrets": [{"name": f"{name}-token-abcde"}, {"name": "shared"}],
        "imagePullSecrets": [{"name": "regcred"}, {"name": f"{name}-dockercfg-xyz"}],
    }


def test_default_service_account_keeps_only_pull_secrets_that_are_synced() -> None:
    ctx = make_context(synced_secrets=frozenset({"regcred", "shared"}))
    obj = transform_object(_service_account("default"), ctx).obj
    assert "secrets" not in obj
    assert obj["imagePullSecrets"] == [{"name": "regcred"}]


def test_other_service_accounts_keep_references_to_synced_secrets() -> None:
    ctx = make_context(synced_secrets=frozenset({"regcred", "shared"}))
    obj = transform_object(_service_account("app"), ctx).obj
    assert obj["secrets"] == [{"name": "shared"}]
    assert obj["imagePullSecrets"] == [{"name": "regcred"}]


def test_default_service_account_without_known_secrets_keeps_pull_secrets() -> None:
    obj = transform_object(_service_account("default"), CTX).obj
    assert "secrets" not in obj
    assert len(obj["imagePullSecrets"]) == 2


# --- Jobs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source_suspend", "recorded"), [(None, "false"), (False, "false"), (True, "true")])
def test_job_lands_suspended_with_the_source_value_recorded(
    source_suspend: bool | None, recorded: str
) -> None:
    source = make_job()
    if source_suspend is not None:
        source["spec"]["suspend"] = source_suspend
    obj = transform_object(source, CTX).obj
    assert obj["spec"]["suspend"] is True
    assert obj["metadata"]["annotations"]["dr-syncer.io/original-suspend"] == recorded


# --- Scalers and custom workloads ---------------------------------------------------------------


def _scaled_object(annotations: dict[str, str] | None = None) -> KubeObject:
    metadata: dict[str, Any] = {"name": "worker", "namespace": "shop"}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": metadata,
        "spec": {"scaleTargetRef": {"name": "worker"}, "minReplicaCount": 1},
    }


def test_keda_scaled_object_lands_paused_at_zero() -> None:
    annotations = transform_object(_scaled_object(), CTX).obj["metadata"]["annotations"]
    assert annotations[PAUSED] == "0"
    assert json.loads(annotations["dr-syncer.io/parked-annotations"]) == {PAUSED: None}


def test_keda_scaled_object_paused_at_the_source_records_its_value() -> None:
    annotations = transform_object(_scaled_object({PAUSED: "2"}), CTX).obj["metadata"]["annotations"]
    assert annotations[PAUSED] == "0"
    assert json.loads(annotations["dr-syncer.io/parked-annotations"]) == {PAUSED: "2"}


def test_horizontal_pod_autoscaler_is_left_as_it_is() -> None:
    hpa: KubeObject = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5},
    }
    obj = transform_object(hpa, CTX).obj
    assert obj["spec"] == hpa["spec"]
    assert "annotations" not in obj["metadata"]


ROLLOUT = WorkloadParking(group="argoproj.io", kind="Rollout", replicas_path=("spec", "replicas"))


def _rollout(replicas: int, labels: dict[str, str] | None = None) -> KubeObject:
    metadata: dict[str, Any] = {"name": "web", "namespace": "shop"}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": metadata,
        "spec": {"replicas": replicas},
    }


def test_workload_parking_sets_the_replica_field_to_zero_and_records_the_count() -> None:
    ctx = make_context(workload_parking=(KEDA_SCALED_OBJECT, ROLLOUT))
    obj = transform_object(_rollout(4), ctx).obj
    assert obj["spec"]["replicas"] == 0
    assert obj["metadata"]["annotations"]["dr-syncer.io/original-replicas"] == "4"


def test_workload_parking_honours_scale_override() -> None:
    ctx = make_context(workload_parking=(ROLLOUT,))
    obj = transform_object(_rollout(4, {"dr-syncer.io/scale-override": "1"}), ctx).obj
    assert obj["spec"]["replicas"] == 1


def test_workload_parking_by_annotations() -> None:
    paused = WorkloadParking(
        group="example.com", kind="Pipeline", annotations=(("example.com/paused", "true"),)
    )
    ctx = make_context(workload_parking=(paused,))
    source: KubeObject = {"apiVersion": "example.com/v1", "kind": "Pipeline", "metadata": {"name": "p"}}
    annotations = transform_object(source, ctx).obj["metadata"]["annotations"]
    assert annotations["example.com/paused"] == "true"


def test_unlisted_custom_kind_is_not_parked() -> None:
    obj = transform_object(_rollout(4), CTX).obj
    assert obj["spec"]["replicas"] == 4


def test_parking_is_idempotent_on_its_own_output() -> None:
    ctx = make_context(workload_parking=(KEDA_SCALED_OBJECT, ROLLOUT))
    for source in (_rollout(4), _scaled_object({PAUSED: "2"})):
        once = transform_object(source, ctx).obj
        assert transform_object(once, ctx).obj == once


# --- StatefulSet claim templates ----------------------------------------------------------------


def test_claim_templates_get_storage_class_and_access_mode_mappings() -> None:
    source = make_statefulset()
    source["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {
                "storageClassName": "gp3",
                "accessModes": ["ReadWriteOnce"],
                "volumeMode": "Block",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    ]
    ctx = replace(
        CTX,
        storage_class_mappings=(("gp3", "standard"),),
        access_mode_mappings=(("ReadWriteOnce", "ReadWriteMany"),),
    )
    template = transform_object(source, ctx).obj["spec"]["volumeClaimTemplates"][0]["spec"]
    assert template["storageClassName"] == "standard"
    assert template["accessModes"] == ["ReadWriteMany"]
    assert template["volumeMode"] == "Block"


# --- Namespace metadata -------------------------------------------------------------------------


def test_cluster_specific_namespace_metadata_is_dropped() -> None:
    namespace: KubeObject = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "shop",
            "labels": {"kubernetes.io/metadata.name": "shop", "team": "a", "internal": "x"},
            "annotations": {"openshift.io/sa.scc.uid-range": "1000/10000", "owner": "ops"},
        },
    }
    obj = transform_object(namespace, make_context(namespace_metadata_excludes=("intern*",))).obj
    assert obj["metadata"]["labels"] == {"team": "a"}
    assert obj["metadata"]["annotations"] == {"owner": "ops"}
