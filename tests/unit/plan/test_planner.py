"""Planning per object and per namespace under server-side-apply semantics."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.objects import KubeObject
from tasks.filter.rules import FilterContext, filter_objects
from tasks.plan.diff import FieldDiff
from tasks.plan.planner import object_key, plan_namespace, plan_object, skipped_entry
from tasks.transform.runner import transform_object
from tests.factories import (
    applied,
    as_live,
    make_configmap,
    make_context,
    make_deployment,
    make_ingress,
    make_pvc,
    make_role_binding,
    make_secret,
    make_service,
    make_service_account,
)

CTX = make_context()
DEPLOYMENT_DEFAULTS: dict[str, Any] = {
    "spec.strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    "spec.revisionHistoryLimit": 10,
    "spec.progressDeadlineSeconds": 600,
    "spec.template.spec.restartPolicy": "Always",
    "spec.template.spec.dnsPolicy": "ClusterFirst",
    "spec.template.spec.containers.0.imagePullPolicy": "IfNotPresent",
    "spec.template.spec.containers.0.terminationMessagePath": "/dev/termination-log",
    "spec.template.spec.containers.0.ports.0.protocol": "TCP",
    "status": {"replicas": 0},
}


def _desired(obj: KubeObject) -> KubeObject:
    return transform_object(obj, CTX).obj


def test_object_missing_in_dr_is_created() -> None:
    desired = _desired(make_configmap())
    entry = plan_object(desired, None, prune=False)
    assert (entry.kind, entry.name, entry.action) == ("ConfigMap", "settings", "create")
    assert entry.obj == desired


def test_unchanged_with_server_defaults_present() -> None:
    desired = _desired(make_deployment())
    live = applied(desired, server_defaults=DEPLOYMENT_DEFAULTS)
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "unchanged", entry.diff
    assert entry.diff == []


def test_headless_service_unchanged_and_allocated_cluster_ip_is_not_a_change() -> None:
    desired = _desired(make_service())
    live = applied(desired, server_defaults={"spec.clusterIP": "10.0.0.9", "spec.clusterIPs": ["10.0.0.9"]})
    assert plan_object(desired, live, prune=False).action == "unchanged"


def test_label_removed_at_source_is_an_update_removing_it() -> None:
    live = applied(_desired(make_configmap(labels={"app": "web", "tier": "front"})))
    desired = _desired(make_configmap(labels={"app": "web"}))
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    assert entry.diff == [FieldDiff("metadata.labels.tier", "front", None, "removed")]


def test_changed_value_is_an_update_with_before_and_after() -> None:
    live = applied(_desired(make_configmap(data={"mode": "a"})))
    entry = plan_object(_desired(make_configmap(data={"mode": "b"})), live, prune=False)
    assert entry.action == "update"
    assert entry.diff == [FieldDiff("data.mode", "a", "b", "changed")]
    assert entry.reason == "1 field differs"


def test_added_field_is_an_update() -> None:
    live = applied(_desired(make_configmap(data={"a": "1"})))
    entry = plan_object(_desired(make_configmap(data={"a": "1", "b": "2"})), live, prune=False)
    assert entry.diff == [FieldDiff("data.b", None, "2", "added")]


def test_env_var_removed_at_source_is_an_update_removing_it() -> None:
    before = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    live = applied(_desired(make_deployment(env=before)), server_defaults=DEPLOYMENT_DEFAULTS)
    desired = _desired(make_deployment(env=before[:1]))
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    removed = {diff.path: diff.before for diff in entry.diff if diff.change == "removed"}
    assert removed == {"spec.template.spec.containers[0].env[1]": {"name": "B", "value": "2"}}


def test_field_owned_by_another_manager_is_not_a_removal() -> None:
    desired = _desired(make_configmap())
    live = applied(desired)
    live["metadata"]["annotations"] = {"edited-by": "someone"}
    assert plan_object(desired, live, prune=False).action == "unchanged"


def test_managed_field_removed_from_a_map_is_reported_once_at_the_top() -> None:
    live = applied(_desired(make_configmap(annotations={"a": "1", "b": "2"})))
    desired = _desired(make_configmap())
    entry = plan_object(desired, live, prune=False)
    assert [diff.path for diff in entry.diff] == ["metadata.annotations.a", "metadata.annotations.b"]
    assert all(diff.change == "removed" for diff in entry.diff)


def test_list_length_change_is_one_diff_for_the_list() -> None:
    live = applied(_desired(make_role_binding()))
    desired = _desired(make_role_binding(subjects=[]))
    desired["subjects"] = [{"kind": "User", "name": "a"}, {"kind": "User", "name": "b"}]
    entry = plan_object(desired, live, prune=False)
    assert [diff.path for diff in entry.diff] == ["subjects"]


def test_quantities_compare_by_value() -> None:
    desired = _desired(make_deployment())
    desired["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "0.5", "memory": "1Gi"}
    }
    live = applied(desired)
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "500m", "memory": "1024Mi"}
    }
    assert plan_object(desired, live, prune=False).action == "unchanged"


def test_empty_desired_map_matches_an_absent_live_map() -> None:
    desired = _desired(make_configmap(data={}))
    live = applied(desired)
    del live["data"]
    assert plan_object(desired, live, prune=False).action == "unchanged"


def test_int_and_bool_are_not_equal() -> None:
    desired = _desired(make_deployment())
    live = applied(desired)
    live["spec"]["replicas"] = False
    assert plan_object(desired, live, prune=False).action == "update"


def test_existing_object_not_yet_managed_is_taken_over() -> None:
    desired = _desired(make_configmap(data={"mode": "b"}))
    live = as_live(_desired(make_configmap(data={"mode": "a"})))
    entry = plan_object(desired, live, prune=False)
    assert entry.action == "update"
    assert "not yet managed by dr-syncer" in entry.reason


def test_secret_values_are_masked_in_diffs() -> None:
    live = applied(_desired(make_secret(data={"password": "b2xk", "old": "eA=="})))
    desired = _desired(make_secret(data={"password": "bmV3", "token": "dA=="}))
    entry = plan_object(desired, live, prune=False)
    text = repr(entry.diff)
    for value in ("b2xk", "bmV3", "dA==", "eA=="):
        assert value not in text
    by_path = {diff.path: diff for diff in entry.diff}
    assert by_path["data.password"] == FieldDiff("data.password", "(changed)", "(changed)", "changed")
    assert by_path["data.token"].after == "(changed)"
    assert by_path["data.old"].before == "(changed)"


def test_secret_data_added_as_a_whole_is_masked() -> None:
    desired = _desired(make_secret(data={"password": "c2VjcmV0"}))
    live = applied(_desired(make_secret(data={})))
    live.pop("data", None)
    entry = plan_object(desired, live, prune=False)
    assert "c2VjcmV0" not in repr(entry.diff)


def test_managed_object_without_source_is_pruned_when_prune_is_on() -> None:
    live = applied(_desired(make_configmap()))
    entry = plan_object(None, live, prune=True)
    assert entry.action == "prune"
    assert entry.obj is live


def test_managed_object_without_source_is_skipped_when_prune_is_off() -> None:
    entry = plan_object(None, applied(_desired(make_configmap())), prune=False)
    assert entry.action == "skip"
    assert "prune: false" in entry.reason


def test_unmanaged_object_is_never_pruned() -> None:
    entry = plan_object(None, as_live(make_configmap()), prune=True)
    assert entry.action == "skip"
    assert "never pruned" in entry.reason


def test_plan_object_needs_an_object() -> None:
    with pytest.raises(ValueError, match="desired or a live"):
        plan_object(None, None, prune=True)


def test_object_key_ignores_the_version_but_not_the_group() -> None:
    ingress = make_ingress()
    beta = copy.deepcopy(ingress)
    beta["apiVersion"] = "networking.k8s.io/v1beta1"
    assert object_key(ingress) == object_key(beta)
    other = copy.deepcopy(ingress)
    other["apiVersion"] = "extensions/v1beta1"
    assert object_key(ingress) != object_key(other)


def test_plan_namespace_sorts_in_apply_order() -> None:
    sources = [
        make_ingress(),
        make_deployment(),
        make_service(),
        make_pvc(),
        make_secret(),
        make_configmap(),
        make_role_binding(),
        make_service_account(),
    ]
    desired = [_desired(obj) for obj in sources]
    entries = plan_namespace(desired, [], prune=False, prune_pvcs=False)
    assert [entry.kind for entry in entries] == [
        "ServiceAccount",
        "RoleBinding",
        "ConfigMap",
        "Secret",
        "PersistentVolumeClaim",
        "Service",
        "Deployment",
        "Ingress",
    ]
    assert {entry.action for entry in entries} == {"create"}


def test_plan_namespace_prunes_last_in_reverse_order() -> None:
    live = [applied(_desired(make_configmap("old"))), applied(_desired(make_deployment("old")))]
    entries = plan_namespace([_desired(make_secret())], live, prune=True, prune_pvcs=False)
    assert [(entry.kind, entry.action) for entry in entries] == [
        ("Secret", "create"),
        ("Deployment", "prune"),
        ("ConfigMap", "prune"),
    ]


def test_plan_namespace_leaves_out_live_objects_it_does_not_manage() -> None:
    live = [as_live(make_configmap("kube-root-ca.crt")), as_live(make_service_account("default"))]
    assert plan_namespace([], live, prune=True, prune_pvcs=True) == []


def test_plan_namespace_never_prunes_pvcs_without_prune_pvcs() -> None:
    live = [applied(_desired(make_pvc()))]
    (entry,) = plan_namespace([], live, prune=True, prune_pvcs=False)
    assert entry.action == "skip"
    assert "prunePVCs" in entry.reason
    (entry,) = plan_namespace([], live, prune=True, prune_pvcs=True)
    assert entry.action == "prune"


def test_plan_namespace_pvc_keeps_live_spec_and_only_grows() -> None:
    live = applied(_desired(make_pvc(storage="10Gi")), server_defaults={"spec.volumeName": "pvc-dr-1"})
    shrunk_and_remapped = _desired(make_pvc(storage="5Gi", storage_class="other"))
    (entry,) = plan_namespace([shrunk_and_remapped], [live], prune=False, prune_pvcs=False)
    assert entry.action == "unchanged", entry.diff
    grown = _desired(make_pvc(storage="20Gi"))
    (entry,) = plan_namespace([grown], [live], prune=False, prune_pvcs=False)
    assert entry.action == "update"
    assert entry.diff == [FieldDiff("spec.resources.requests.storage", "10Gi", "20Gi", "changed")]


def test_plan_namespace_resync_of_unchanged_namespace_is_all_unchanged() -> None:
    sources = [make_configmap(), make_secret(), make_service(), make_deployment(), make_pvc(), make_ingress()]
    desired = [_desired(obj) for obj in sources]
    live = [applied(obj) for obj in desired]
    entries = plan_namespace(desired, live, prune=True, prune_pvcs=True)
    assert {entry.action for entry in entries} == {"unchanged"}


def test_filtered_objects_become_skip_entries_with_the_filter_reason() -> None:
    (skipped,) = filter_objects(
        [make_configmap(labels={"dr-syncer.io/ignore": "true"})], FilterContext()
    ).skipped
    entry = skipped_entry(skipped)
    assert (entry.kind, entry.name, entry.action) == ("ConfigMap", "settings", "skip")
    assert "dr-syncer.io/ignore" in entry.reason
