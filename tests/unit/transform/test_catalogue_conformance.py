"""Every rule in the catalogue: documented, pure, idempotent and deterministic, over every kind."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from drsyncer.objects import KubeObject
from tasks.transform.catalogue import RULES, Rule
from tasks.transform.context import TransformContext
from tasks.transform.runner import transform_object
from tests.factories import (
    SOURCE_NS,
    make_configmap,
    make_context,
    make_cronjob,
    make_daemonset,
    make_deployment,
    make_ingress,
    make_job,
    make_pv,
    make_pvc,
    make_replicaset,
    make_role_binding,
    make_secret,
    make_service,
    make_service_account,
    make_statefulset,
)

ENV = [{"name": "DB", "value": f"db.{SOURCE_NS}.svc.cluster.local"}]


def _objects() -> list[KubeObject]:
    pvc = make_pvc(
        annotations={
            "pv.kubernetes.io/bind-completed": "yes",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
        labels={"dr-syncer.io/storage-class": "fast"},
        access_modes=["ReadWriteOnce", "ReadOnlyMany"],
    )
    return [
        make_configmap(data={"url": f"http://db.{SOURCE_NS}.svc:5432"}),
        make_secret(),
        make_deployment(env=ENV),
        make_deployment("pinned", labels={"dr-syncer.io/scale-override": "2"}),
        make_deployment("kept", labels={"dr-syncer.io/scale-override": "true"}),
        make_deployment("unset", replicas=None),
        make_statefulset(),
        make_replicaset(),
        make_daemonset(),
        make_cronjob(env=ENV),
        make_cronjob("paused", suspend=True),
        make_job(),
        make_job("manual", generated_selector=False, extra_selector={"app": "m"}),
        make_service(),
        make_service("headless", cluster_ip="None"),
        make_service("lb", service_type="LoadBalancer", node_port=30001, health_check_node_port=31001),
        make_ingress(),
        pvc,
        make_pv(),
        make_role_binding(),
        make_service_account(),
    ]


CONTEXTS = [
    make_context(),
    make_context(
        scale_to_zero=False,
        storage_class_mappings=(("standard", "standard-dr"),),
        access_mode_mappings=(("ReadWriteOnce", "ReadWriteMany"),),
        sync_persistent_volumes=True,
        rewrite_text_references=True,
    ),
    make_context(destination_namespace=SOURCE_NS, preserve_volume_attributes=True),
]
CASES = [(ctx, obj) for ctx in CONTEXTS for obj in _objects()]
CASE_IDS = [
    f"ctx{index // len(_objects())}-{obj['kind']}/{obj['metadata']['name']}"
    for index, (_, obj) in enumerate(CASES)
]


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_every_rule_is_documented(rule: Rule) -> None:
    assert len(rule.documentation) > 60, f"{rule.name} needs a docstring that documents it for users"


def test_rule_names_are_unique() -> None:
    assert len({rule.name for rule in RULES}) == len(RULES)


@pytest.mark.parametrize(("ctx", "obj"), CASES, ids=CASE_IDS)
def test_transform_does_not_mutate_its_input(ctx: TransformContext, obj: KubeObject) -> None:
    before = copy.deepcopy(obj)
    transform_object(obj, ctx)
    assert obj == before


@pytest.mark.parametrize(("ctx", "obj"), CASES, ids=CASE_IDS)
def test_transform_is_idempotent(ctx: TransformContext, obj: KubeObject) -> None:
    once = transform_object(obj, ctx)
    twice = transform_object(once.obj, ctx)
    assert twice.obj == once.obj
    assert twice.changes == []


@pytest.mark.parametrize(("ctx", "obj"), CASES, ids=CASE_IDS)
def test_transform_is_deterministic(ctx: TransformContext, obj: KubeObject) -> None:
    first, second = transform_object(obj, ctx), transform_object(copy.deepcopy(obj), ctx)
    assert json.dumps(first.obj, sort_keys=False) == json.dumps(second.obj, sort_keys=False)
    assert first.changes == second.changes


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rules_do_not_mutate_the_object_they_read(rule: Rule) -> None:
    for ctx in CONTEXTS:
        for obj in _objects():
            if rule.applies_to(obj["kind"]):
                before = copy.deepcopy(obj)
                rule.function(obj, ctx)
                assert obj == before


@pytest.mark.parametrize(("ctx", "obj"), CASES, ids=CASE_IDS)
def test_transformed_objects_are_json_and_carry_no_server_fields(
    ctx: TransformContext, obj: KubeObject
) -> None:
    result: dict[str, Any] = json.loads(json.dumps(transform_object(obj, ctx).obj))
    assert "status" not in result
    assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp"} & set(result["metadata"])


BOOKKEEPING_FREE_KINDS = {"ConfigMap", "Secret", "Service", "Ingress", "PersistentVolumeClaim", "RoleBinding"}
DROPPED_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/selected-node",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
}


PLAIN_CASES = [(ctx, obj) for ctx, obj in CASES if obj["kind"] in BOOKKEEPING_FREE_KINDS]


@pytest.mark.parametrize(("ctx", "obj"), PLAIN_CASES)
def test_non_workload_kinds_carry_exactly_the_source_labels_and_annotations(
    ctx: TransformContext, obj: KubeObject
) -> None:
    source, result = obj["metadata"], transform_object(obj, ctx).obj["metadata"]
    expected_annotations = {
        key: value
        for key, value in (source.get("annotations") or {}).items()
        if key not in DROPPED_ANNOTATIONS
    }
    assert result.get("labels") == source.get("labels")
    assert (result.get("annotations") or {}) == expected_annotations
