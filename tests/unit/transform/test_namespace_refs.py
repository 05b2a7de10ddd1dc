"""Namespace rules: destination namespace, structured references, opt-in text rewriting."""

from __future__ import annotations

from typing import Any

from tasks.transform.runner import transform_object
from tests.factories import (
    DR_NS,
    SOURCE_NS,
    make_configmap,
    make_context,
    make_cronjob,
    make_deployment,
    make_pv,
    make_role_binding,
)

REWRITE = make_context(rewrite_text_references=True)


def test_namespace_is_set_to_the_destination() -> None:
    assert transform_object(make_configmap(), make_context()).obj["metadata"]["namespace"] == DR_NS


def test_cluster_scoped_objects_stay_cluster_scoped() -> None:
    result = transform_object(make_pv(), make_context(sync_persistent_volumes=True)).obj
    assert "namespace" not in result["metadata"]


def test_role_binding_subjects_in_source_namespace_follow_the_rename() -> None:
    subjects: list[dict[str, Any]] = [
        {"kind": "ServiceAccount", "name": "app", "namespace": SOURCE_NS},
        {"kind": "ServiceAccount", "name": "monitor", "namespace": "monitoring"},
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane"},
    ]
    result = transform_object(make_role_binding(subjects=subjects), make_context()).obj
    assert [subject.get("namespace") for subject in result["subjects"]] == [DR_NS, "monitoring", None]


def test_role_binding_subjects_unchanged_without_rename() -> None:
    ctx = make_context(destination_namespace=SOURCE_NS)
    source = make_role_binding()
    assert transform_object(source, ctx).obj["subjects"] == source["subjects"]


def test_pv_claim_ref_follows_the_rename_and_loses_source_uid() -> None:
    result = transform_object(make_pv(), make_context(sync_persistent_volumes=True)).obj
    assert result["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": DR_NS, "name": "data"}


def test_pv_claim_ref_untouched_without_sync_persistent_volumes() -> None:
    source = make_pv()
    assert transform_object(source, make_context()).obj["spec"]["claimRef"] == source["spec"]["claimRef"]


def test_configmap_data_is_byte_identical_by_default_after_rename() -> None:
    data = {"url": f"http://db.{SOURCE_NS}.svc.cluster.local:5432", "ns": SOURCE_NS}
    assert transform_object(make_configmap(data=data), make_context()).obj["data"] == data


def test_rewrite_text_references_rewrites_service_names_in_configmap_data() -> None:
    data = {
        "short": f"db.{SOURCE_NS}.svc:5432",
        "long": f"http://db-0.db.{SOURCE_NS}.svc.cluster.local/x, cache.{SOURCE_NS}.svc",
    }
    result = transform_object(make_configmap(data=data), REWRITE).obj["data"]
    assert result == {
        "short": f"db.{DR_NS}.svc:5432",
        "long": f"http://db-0.db.{DR_NS}.svc.cluster.local/x, cache.{DR_NS}.svc",
    }


def test_rewrite_text_references_leaves_other_text_alone() -> None:
    data = {
        "bare": f"namespace={SOURCE_NS}",
        "short": f"db.{SOURCE_NS}",
        "longer_ns": f"db.{SOURCE_NS}x.svc",
        "suffix": f"db.my{SOURCE_NS}.svc",
        "not_svc": f"db.{SOURCE_NS}.svcx",
    }
    assert transform_object(make_configmap(data=data), REWRITE).obj["data"] == data


def test_rewrite_text_references_rewrites_env_values_only() -> None:
    env: list[dict[str, Any]] = [
        {"name": "DB", "value": f"db.{SOURCE_NS}.svc.cluster.local"},
        {"name": "FROM", "valueFrom": {"configMapKeyRef": {"name": "x", "key": f"db.{SOURCE_NS}.svc"}}},
    ]
    result = transform_object(make_deployment(env=env), REWRITE).obj
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][0]["value"] == f"db.{DR_NS}.svc.cluster.local"
    assert container["env"][1] == env[1]


def test_rewrite_text_references_reaches_cronjob_templates() -> None:
    env = [{"name": "DB", "value": f"db.{SOURCE_NS}.svc"}]
    result = transform_object(make_cronjob(env=env), REWRITE).obj
    container = result["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][0]["value"] == f"db.{DR_NS}.svc"


def test_env_values_untouched_without_rewrite_text_references() -> None:
    env = [{"name": "DB", "value": f"db.{SOURCE_NS}.svc"}]
    result = transform_object(make_deployment(env=env), make_context()).obj
    assert result["spec"]["template"]["spec"]["containers"][0]["env"] == env
