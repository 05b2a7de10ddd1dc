"""Server-side apply and managedFields behave as the real kube-apiserver's structured-merge-diff."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.objects import KubeObject
from drsyncer.sandbox.field_management import (
    ANCIENT_CHANGES,
    BEFORE_FIRST_APPLY,
    MAX_UPDATE_MANAGERS,
    ApplyConflict,
    decode_fields,
    encode_fields,
    format_path,
    managed_paths,
    record_update,
    server_side_apply,
)
from drsyncer.sandbox.patching import PatchError

T1, T2, T3 = "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"
WEB_KEY = 'k:{"name":"web"}'


def make_config_map(labels: dict[str, str] | None = None, **data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "settings",
            "namespace": "app",
            "labels": labels if labels is not None else {"app": "x"},
        },
        "data": dict(data),
    }


def make_container(name: str = "web", image: str = "nginx:1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **extra}


def make_deployment(*containers: dict[str, Any], replicas: int | None = 1) -> KubeObject:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": list(containers) or [make_container()]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": spec,
    }


def stored(obj: KubeObject, **metadata: Any) -> KubeObject:
    """What the server stores: the object plus its own metadata (uid, resourceVersion)."""
    result = copy.deepcopy(obj)
    result["metadata"].update({"uid": "uid-1", "resourceVersion": "10", **metadata})
    return result


def entries(obj: KubeObject) -> list[dict[str, Any]]:
    managed: list[dict[str, Any]] = obj["metadata"].get("managedFields", [])
    return managed


def entry_of(obj: KubeObject, manager: str) -> dict[str, Any]:
    (entry,) = [e for e in entries(obj) if e["manager"] == manager]
    return entry


def containers_of(obj: KubeObject) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def apply(
    live: KubeObject | None, config: KubeObject, manager: str = "kubectl", **options: Any
) -> KubeObject:
    return server_side_apply(
        live,
        config,
        manager=manager,
        force=options.pop("force", False),
        now=options.pop("now", T1),
        **options,
    )


CONTAINER_PATH = ("f:spec", "f:template", "f:spec", "f:containers")
CSA_CONFLICT = (
    'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
)


# --- create and the FieldsV1 encoding ------------------------------------------------------------------


def test_apply_creates_the_object_when_absent() -> None:
    config = make_config_map(a="1")

    created = apply(None, config)

    assert {k: v for k, v in created.items() if k != "metadata"} == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"a": "1"},
    }
    assert created["metadata"]["labels"] == {"app": "x"}
    assert created["metadata"]["name"] == "settings"


def test_apply_encodes_fields_v1_like_kubectl_server_side_apply() -> None:
    # literal from a real cluster: kubectl apply --server-side of a ConfigMap with one label and one key
    created = apply(None, make_config_map(a="1"))

    assert entries(created) == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
        }
    ]
    assert list(entries(created)[0]) == [
        "manager",
        "operation",
        "apiVersion",
        "time",
        "fieldsType",
        "fieldsV1",
    ]


def test_create_records_update_ownership_like_kubectl_create() -> None:
    # literal from a real cluster: kubectl create of the same ConfigMap (maps new on create carry ".")
    created = record_update(None, make_config_map(a="1"), manager="kubectl-create", now=T1)

    assert entries(created) == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
        }
    ]


def test_create_marks_new_list_items_and_their_lists_but_not_struct_fields() -> None:
    deployment = make_deployment(make_container(env=[{"name": "A", "value": "1"}]))

    created = record_update(None, deployment, manager="kubectl-create", now=T1)

    spec = entry_of(created, "kubectl-create")["fieldsV1"]["f:spec"]
    assert "." not in spec
    assert "." not in spec["f:template"]
    assert "." not in spec["f:template"]["f:spec"]["f:containers"]
    item = spec["f:template"]["f:spec"]["f:containers"][WEB_KEY]
    assert item == {
        ".": {},
        "f:env": {".": {}, 'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
        "f:image": {},
        "f:name": {},
    }


def test_keyed_list_items_are_owned_by_key_with_a_dot_for_the_item() -> None:
    created = apply(None, make_deployment())

    paths = managed_paths(created, "kubectl")
    assert (*CONTAINER_PATH, WEB_KEY) in paths
    assert (*CONTAINER_PATH, WEB_KEY, "f:image") in paths
    item = entry_of(created, "kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][WEB_KEY]
    assert item == {".": {}, "f:image": {}, "f:name": {}}


def test_container_ports_are_keyed_by_port_and_defaulted_protocol() -> None:
    created = apply(None, make_deployment(make_container(ports=[{"containerPort": 80}])))

    ports = managed_paths(created, "kubectl")
    assert (*CONTAINER_PATH, WEB_KEY, "f:ports", 'k:{"containerPort":80,"protocol":"TCP"}') in ports


def test_service_ports_are_keyed_by_port_and_protocol() -> None:
    service: KubeObject = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"ports": [{"port": 80, "protocol": "UDP"}]},
    }

    created = apply(None, service)

    assert ("f:spec", "f:ports", 'k:{"port":80,"protocol":"UDP"}', "f:port") in managed_paths(
        created, "kubectl"
    )


def test_finalizers_are_a_set_of_values() -> None:
    config = make_config_map()
    config["metadata"]["finalizers"] = ["example.com/a"]

    created = apply(None, config)

    assert entry_of(created, "kubectl")["fieldsV1"]["f:metadata"]["f:finalizers"] == {'v:"example.com/a"': {}}


def test_atomic_lists_and_selectors_are_owned_as_one_leaf() -> None:
    created = apply(None, make_deployment(make_container(args=["--a", "--b"])))

    fields = entry_of(created, "kubectl")["fieldsV1"]["f:spec"]
    assert fields["f:selector"] == {}
    assert fields["f:template"]["f:spec"]["f:containers"][WEB_KEY]["f:args"] == {}


def test_identity_and_server_metadata_are_never_owned() -> None:
    created = apply(None, make_config_map(a="1"))

    assert not any(
        path[:2] in {("f:metadata", "f:name"), ("f:metadata", "f:namespace")}
        for path in managed_paths(created, "kubectl")
    )
    assert not any(path[0] in {"f:apiVersion", "f:kind"} for path in managed_paths(created, "kubectl"))


def test_key_field_missing_from_an_applied_item_is_422() -> None:
    with pytest.raises(PatchError) as caught:
        apply(None, make_deployment({"image": "nginx"}))

    assert caught.value.code == 422
    assert 'omits key field "name"' in caught.value.message


def test_duplicate_keys_in_an_applied_list_are_422() -> None:
    with pytest.raises(PatchError) as caught:
        apply(None, make_deployment(make_container(), make_container()))

    assert caught.value.code == 422
    assert "duplicate entries" in caught.value.message


# --- re-apply ---------------------------------------------------------------------------------------------


def test_reapplying_the_same_config_changes_nothing_not_even_time() -> None:
    config = make_deployment(make_container(env=[{"name": "A", "value": "1"}]))
    first = stored(apply(None, config, now=T1))

    second = apply(first, config, now=T2)

    assert second == first


def test_reapplying_a_changed_value_updates_it_and_the_time() -> None:
    first = stored(apply(None, make_config_map(a="1"), now=T1))

    second = apply(first, make_config_map(a="2"), now=T2)

    assert second["data"] == {"a": "2"}
    assert entry_of(second, "kubectl")["time"] == T2


def test_fields_dropped_from_the_config_are_removed_from_the_object() -> None:
    first = stored(apply(None, make_config_map(labels={"app": "x", "tier": "web"}, a="1", b="2")))

    second = apply(first, make_config_map(labels={"app": "x"}, a="1"))

    assert second["metadata"]["labels"] == {"app": "x"}
    assert second["data"] == {"a": "1"}
    assert entry_of(second, "kubectl")["fieldsV1"] == {
        "f:data": {"f:a": {}},
        "f:metadata": {"f:labels": {"f:app": {}}},
    }


def test_container_dropped_from_the_config_is_removed() -> None:
    first = stored(apply(None, make_deployment(make_container("web"), make_container("sidecar"))))

    second = apply(first, make_deployment(make_container("web")))

    assert [c["name"] for c in containers_of(second)] == ["web"]


def test_dropping_the_whole_subtree_removes_it() -> None:
    first = stored(apply(None, make_deployment(replicas=3)))

    second = apply(first, make_deployment(replicas=None))

    assert "replicas" not in second["spec"]
    assert second["metadata"]["name"] == "web"


def test_dropped_field_another_applier_owns_stays_and_ownership_is_released() -> None:
    first = stored(apply(None, make_config_map(a="1", b="2"), manager="one"))
    shared = stored(apply(first, make_config_map(b="2"), manager="two"))

    after = apply(shared, make_config_map(a="1"), manager="one")

    assert after["data"] == {"a": "1", "b": "2"}
    assert ("f:data", "f:b") not in managed_paths(after, "one")
    assert ("f:data", "f:b") in managed_paths(after, "two")


def test_dropped_field_an_updater_took_over_stays() -> None:
    first = stored(apply(None, make_config_map(a="1", b="2")))
    edited = stored(record_update(first, make_config_map(a="1", b="3"), manager="kubectl-edit", now=T2))

    after = apply(edited, make_config_map(a="1"), now=T3)

    assert after["data"] == {"a": "1", "b": "3"}


def test_apply_merges_into_fields_it_does_not_mention() -> None:
    live = stored(record_update(None, make_config_map(a="1", other="keep"), manager="creator", now=T1))

    after = apply(live, make_config_map(a="1", b="2"))

    assert after["data"] == {"a": "1", "b": "2", "other": "keep"}


def test_applying_one_container_keeps_containers_other_managers_added() -> None:
    live = stored(
        record_update(
            None, make_deployment(make_container("web"), make_container("mesh")), manager="injector", now=T1
        )
    )

    after = apply(live, make_deployment(make_container("web", env=[{"name": "A", "value": "1"}])))

    assert [c["name"] for c in containers_of(after)] == ["web", "mesh"]
    assert containers_of(after)[0]["env"] == [{"name": "A", "value": "1"}]


def test_applied_items_follow_the_config_order_as_structured_merge_diff_merges_lists() -> None:
    # visitListItems: live-only items keep their slot, shared items are emitted in the config's order.
    live = stored(
        record_update(
            None,
            make_deployment(make_container("a"), make_container("b"), make_container("c")),
            manager="creator",
            now=T1,
        )
    )

    after = apply(live, make_deployment(make_container("c"), make_container("a")), force=True)

    assert [c["name"] for c in containers_of(after)] == ["b", "c", "a"]


def test_atomic_list_is_replaced_whole() -> None:
    live = stored(apply(None, make_deployment(make_container(args=["--a", "--b"]))))

    after = apply(live, make_deployment(make_container(args=["--c"])))

    assert containers_of(after)[0]["args"] == ["--c"]


def test_custom_resource_lists_are_atomic() -> None:
    widget: KubeObject = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "app"},
        "spec": {"items": [{"name": "a"}, {"name": "b"}]},
    }
    live = stored(apply(None, widget))
    widget["spec"]["items"] = [{"name": "c"}]

    after = apply(live, widget)

    assert after["spec"]["items"] == [{"name": "c"}]
    assert ("f:spec", "f:items") in managed_paths(after, "kubectl")


def test_applying_an_empty_map_keeps_the_live_entries() -> None:
    live = stored(record_update(None, make_config_map(a="1"), manager="creator", now=T1))

    after = apply(live, make_config_map())

    assert after["data"] == {"a": "1"}


# --- conflicts ---------------------------------------------------------------------------------------------


def test_changing_a_field_an_updater_owns_conflicts_with_the_real_message() -> None:
    live = stored(
        record_update(None, make_deployment(replicas=1), manager="kubectl-client-side-apply", now=T1)
    )

    with pytest.raises(ApplyConflict) as caught:
        apply(live, make_deployment(replicas=3), manager="dr-syncer")

    assert caught.value.conflicts == [("kubectl-client-side-apply", ".spec.replicas")]
    assert str(caught.value) == CSA_CONFLICT


def test_conflict_status_matches_the_real_server() -> None:
    live = stored(
        record_update(None, make_deployment(replicas=1), manager="kubectl-client-side-apply", now=T1)
    )

    with pytest.raises(ApplyConflict) as caught:
        apply(live, make_deployment(replicas=3), manager="dr-syncer")

    assert caught.value.as_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": CSA_CONFLICT,
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                    "field": ".spec.replicas",
                }
            ]
        },
        "code": 409,
    }


def test_conflict_with_another_applier_names_it_without_api_version() -> None:
    live = stored(apply(None, make_config_map(a="1"), manager="one"))

    with pytest.raises(ApplyConflict) as caught:
        apply(live, make_config_map(a="2"), manager="two")

    assert str(caught.value) == 'Apply failed with 1 conflict: conflict with "one": .data.a'


def test_several_conflicts_are_listed_per_manager() -> None:
    live = stored(apply(None, make_config_map(a="1", b="1"), manager="one"))

    with pytest.raises(ApplyConflict) as caught:
        apply(live, make_config_map(a="2", b="2"), manager="two")

    assert str(caught.value) == 'Apply failed with 2 conflicts: conflicts with "one":\n- .data.a\n- .data.b'
    assert len(caught.value.as_status()["details"]["causes"]) == 2


def test_conflict_inside_a_keyed_item_names_the_item_by_key() -> None:
    live = stored(
        record_update(None, make_deployment(make_container(image="nginx:1")), manager="creator", now=T1)
    )

    with pytest.raises(ApplyConflict) as caught:
        apply(live, make_deployment(make_container(image="nginx:2")))

    assert ("creator", '.spec.template.spec.containers[name="web"].image') in caught.value.conflicts


def test_same_value_is_shared_ownership_without_conflict() -> None:
    live = stored(apply(None, make_config_map(a="1"), manager="one"))

    after = apply(live, make_config_map(a="1"), manager="two", now=T2)

    assert ("f:data", "f:a") in managed_paths(after, "one")
    assert ("f:data", "f:a") in managed_paths(after, "two")
    assert entry_of(after, "one")["time"] == T1


def test_force_takes_ownership_and_sets_the_value() -> None:
    live = stored(apply(None, make_config_map(a="1", b="1"), manager="one"))

    after = apply(live, make_config_map(a="2"), manager="two", force=True)

    assert after["data"] == {"a": "2", "b": "1"}
    assert ("f:data", "f:a") in managed_paths(after, "two")
    assert managed_paths(after, "one") == {("f:data", "f:b"), ("f:metadata", "f:labels", "f:app")}


def test_manager_left_with_no_fields_disappears() -> None:
    config = make_config_map(a="1")
    del config["metadata"]["labels"]
    live = stored(apply(None, config, manager="one"))
    config["data"]["a"] = "2"

    after = apply(live, config, manager="two", force=True)

    assert [e["manager"] for e in entries(after)] == ["two"]


def test_an_empty_map_is_owned_as_a_leaf() -> None:
    created = apply(None, make_config_map(labels={}))

    assert managed_paths(created, "kubectl") == {("f:metadata", "f:labels"), ("f:data",)}


def test_conflicting_apply_changes_nothing_and_mutates_nothing() -> None:
    live = stored(apply(None, make_config_map(a="1"), manager="one"))
    before = copy.deepcopy(live)
    config = make_config_map(a="2")

    with pytest.raises(ApplyConflict):
        apply(live, config, manager="two")

    assert live == before
    assert config == make_config_map(a="2")


def test_applier_conflicts_with_its_own_update_entry() -> None:
    live = stored(record_update(None, make_config_map(a="1"), manager="kubectl", now=T1))

    with pytest.raises(ApplyConflict) as caught:
        apply(live, make_config_map(a="2"), manager="kubectl")

    assert str(caught.value).endswith('conflict with "kubectl" using v1: .data.a')


# --- record_update (non-apply writes) -----------------------------------------------------------------------


def test_update_takes_changed_fields_so_a_later_apply_conflicts() -> None:
    applied = stored(apply(None, make_deployment(replicas=1), manager="dr-syncer"))
    scaled = stored(
        record_update(
            applied,
            make_deployment(replicas=5) | {"metadata": applied["metadata"]},
            manager="kubectl-scale",
            now=T2,
        )
    )

    assert ("f:spec", "f:replicas") not in managed_paths(scaled, "dr-syncer")
    assert managed_paths(scaled, "kubectl-scale") == {("f:spec", "f:replicas")}
    with pytest.raises(ApplyConflict) as caught:
        apply(scaled, make_deployment(replicas=1), manager="dr-syncer", now=T3)
    assert caught.value.conflicts == [("kubectl-scale", ".spec.replicas")]


def test_update_that_changes_nothing_adds_no_entry_and_keeps_times() -> None:
    created = stored(record_update(None, make_config_map(a="1"), manager="creator", now=T1))

    after = record_update(created, copy.deepcopy(created), manager="someone-else", now=T2)

    assert [(e["manager"], e["time"]) for e in entries(after)] == [("creator", T1)]


def test_update_removing_a_field_removes_it_from_its_owner() -> None:
    created = stored(apply(None, make_config_map(a="1", b="2"), manager="one"))
    new = copy.deepcopy(created)
    del new["data"]["b"]

    after = record_update(created, new, manager="editor", now=T2)

    assert ("f:data", "f:b") not in managed_paths(after, "one")
    assert [e["manager"] for e in entries(after)] == ["one"]


def test_update_by_the_same_manager_accumulates_its_fields() -> None:
    created = stored(record_update(None, make_config_map(a="1"), manager="editor", now=T1))
    new = copy.deepcopy(created)
    new["data"]["b"] = "2"

    after = record_update(created, new, manager="editor", now=T2)

    assert managed_paths(after, "editor") >= {("f:data", "f:a"), ("f:data", "f:b")}
    assert entry_of(after, "editor")["time"] == T2


def test_update_of_an_untracked_object_stays_untracked() -> None:
    untracked = stored(make_config_map(a="1"))
    new = copy.deepcopy(untracked)
    new["data"]["a"] = "2"

    after = record_update(untracked, new, manager="editor", now=T2)

    assert "managedFields" not in after["metadata"]


def test_update_sending_one_empty_entry_clears_managed_fields() -> None:
    created = stored(apply(None, make_config_map(a="1")))
    new = copy.deepcopy(created)
    new["metadata"]["managedFields"] = [{}]

    after = record_update(created, new, manager="editor", now=T2)

    assert "managedFields" not in after["metadata"]


def test_status_subresource_updates_are_recorded_with_the_subresource() -> None:
    created = stored(apply(None, make_deployment()))
    new = copy.deepcopy(created)
    new["status"] = {"replicas": 1}

    after = record_update(created, new, manager="kube-controller-manager", now=T2, subresource="status")

    entry = entry_of(after, "kube-controller-manager")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {".": {}, "f:replicas": {}}}


def test_apply_entries_sort_before_update_entries() -> None:
    created = stored(record_update(None, make_config_map(a="1"), manager="creator", now=T1))

    after = apply(created, make_config_map(a="1", b="2"), manager="zz-applier", now=T2)

    assert [(e["manager"], e["operation"]) for e in entries(after)] == [
        ("zz-applier", "Apply"),
        ("creator", "Update"),
    ]


# --- what apply ignores or keeps ---------------------------------------------------------------------------


def test_apply_drops_status_on_the_main_resource() -> None:
    config = make_deployment()
    config["status"] = {"replicas": 9}

    created = apply(None, config)

    assert "status" not in created
    assert not any(path[0] == "f:status" for path in managed_paths(created, "kubectl"))


def test_apply_keeps_the_servers_metadata_and_ignores_the_configs() -> None:
    live = stored(apply(None, make_config_map(a="1")), creationTimestamp="2026-01-01T00:00:00Z")
    config = make_config_map(a="2")
    config["metadata"].update({"uid": "forged", "generation": 7, "managedFields": [{"manager": "forged"}]})

    after = apply(live, config)

    assert after["metadata"]["uid"] == "uid-1"
    assert after["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert "generation" not in after["metadata"]
    assert [e["manager"] for e in entries(after)] == ["kubectl"]


def test_apply_hands_an_applied_resource_version_back_as_a_precondition() -> None:
    live = stored(apply(None, make_config_map(a="1")))
    config = make_config_map(a="1")
    config["metadata"]["resourceVersion"] = "7"

    after = apply(live, config)

    assert after["metadata"]["resourceVersion"] == "7"


def test_first_apply_over_an_untracked_object_credits_before_first_apply() -> None:
    untracked = stored(make_config_map(a="1"))

    with pytest.raises(ApplyConflict) as caught:
        apply(untracked, make_config_map(a="2"))

    assert caught.value.conflicts == [(BEFORE_FIRST_APPLY, ".data.a")]
    after = apply(untracked, make_config_map(a="1"))
    assert {e["manager"] for e in entries(after)} == {"kubectl", BEFORE_FIRST_APPLY}


def test_apply_null_removes_the_field_and_owns_it() -> None:
    live = stored(record_update(None, make_config_map(a="1", b="2"), manager="creator", now=T1))
    config = make_config_map(a="1")
    config["data"]["b"] = None

    after = apply(live, config, force=True)

    assert after["data"] == {"a": "1"}


# --- managed_paths and the FieldsV1 codec ------------------------------------------------------------------


def test_managed_paths_filters_by_operation() -> None:
    created = stored(record_update(None, make_config_map(a="1"), manager="kubectl", now=T1))
    applied = apply(created, make_config_map(a="1", b="2"))

    assert ("f:data", "f:b") in managed_paths(applied, "kubectl", operation="Apply")
    assert ("f:data", "f:b") not in managed_paths(applied, "kubectl", operation="Update")
    assert managed_paths(applied, "nobody") == set()


def test_fields_v1_round_trips_and_orders_fields_before_keys() -> None:
    paths = {
        ("f:spec", "f:containers", WEB_KEY),
        ("f:spec", "f:containers", WEB_KEY, "f:name"),
        ("f:metadata", "f:finalizers", 'v:"a"'),
        ("f:spec", "f:replicas"),
    }

    encoded = encode_fields(paths)

    assert decode_fields(encoded) == paths
    assert list(encoded) == ["f:metadata", "f:spec"]
    assert encoded["f:spec"]["f:containers"][WEB_KEY] == {".": {}, "f:name": {}}


def test_format_path_matches_structured_merge_diff() -> None:
    assert format_path(("f:spec", "f:replicas")) == ".spec.replicas"
    assert (
        format_path((*CONTAINER_PATH, WEB_KEY, "f:image"))
        == '.spec.template.spec.containers[name="web"].image'
    )
    assert (
        format_path(("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'))
        == '.spec.ports[port=80,protocol="TCP"]'
    )
    assert format_path(("f:metadata", "f:finalizers", 'v:"a"')) == '.metadata.finalizers[="a"]'


def test_create_owns_pointer_structs_with_a_dot_but_not_value_structs() -> None:
    deployment = make_deployment()
    deployment["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    deployment["spec"]["template"]["spec"]["securityContext"] = {}

    created = record_update(None, deployment, manager="kubectl-create", now=T1)

    spec = entry_of(created, "kubectl-create")["fieldsV1"]["f:spec"]
    assert spec["f:strategy"] == {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}}
    assert spec["f:template"]["f:spec"]["f:securityContext"] == {}


def test_create_of_a_custom_resource_owns_every_map_it_brings() -> None:
    widget: KubeObject = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "app"},
        "spec": {"size": 1},
    }

    created = record_update(None, widget, manager="kubectl-create", now=T1)

    assert entry_of(created, "kubectl-create")["fieldsV1"] == {"f:spec": {".": {}, "f:size": {}}}


def test_more_than_ten_updaters_merge_the_oldest_into_ancient_changes() -> None:
    obj = stored(
        record_update(None, make_config_map(k0="0"), manager="writer-00", now="2026-01-01T00:00:00Z")
    )
    for number in range(1, 12):
        new = copy.deepcopy(obj)
        new["data"][f"k{number}"] = str(number)
        obj = stored(
            record_update(obj, new, manager=f"writer-{number:02}", now=f"2026-01-01T00:00:{number:02}Z")
        )

    managers = [e["manager"] for e in entries(obj)]
    assert len(managers) == MAX_UPDATE_MANAGERS
    assert ANCIENT_CHANGES in managers
    assert "writer-00" not in managers
    assert managed_paths(obj, ANCIENT_CHANGES) >= {("f:data", "f:k0"), ("f:data", "f:k1"), ("f:data", "f:k2")}
