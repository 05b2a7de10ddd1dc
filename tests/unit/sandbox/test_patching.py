"""JSON patch, merge patch and strategic merge patch behave as the real kube-apiserver's patch handler."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drsyncer.objects import KubeObject
from drsyncer.sandbox.patching import (
    REJECTED,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    json_equal,
    supports_strategic_merge,
)


def make_config_map(**data: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "app", "labels": {"app": "web"}},
        "data": dict(data),
    }


def make_container(name: str, image: str = "nginx:1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **extra}


def make_deployment(*containers: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> KubeObject:
    pod_spec: dict[str, Any] = {"containers": list(containers) or [make_container("web")]}
    if volumes is not None:
        pod_spec["volumes"] = volumes
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app", "finalizers": ["a.io/one"]},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec},
        },
    }


def make_service(*ports: dict[str, Any]) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"ports": list(ports), "selector": {"app": "web"}},
    }


def containers_of(obj: KubeObject) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


# --- JSON patch ----------------------------------------------------------------------------------------


def test_json_patch_add_sets_a_new_key() -> None:
    patched = apply_json_patch(make_config_map(a="1"), [{"op": "add", "path": "/data/b", "value": "2"}])

    assert patched["data"] == {"a": "1", "b": "2"}


def test_json_patch_add_replaces_an_existing_key() -> None:
    patched = apply_json_patch(make_config_map(a="1"), [{"op": "add", "path": "/data/a", "value": "9"}])

    assert patched["data"] == {"a": "9"}


def test_json_patch_add_inserts_into_an_array_and_dash_appends() -> None:
    obj = make_deployment(make_container("a"), make_container("b"))
    patched = apply_json_patch(
        obj,
        [
            {"op": "add", "path": "/spec/template/spec/containers/1", "value": make_container("mid")},
            {"op": "add", "path": "/spec/template/spec/containers/-", "value": make_container("last")},
        ],
    )

    assert [c["name"] for c in containers_of(patched)] == ["a", "mid", "b", "last"]


def test_json_patch_unescapes_tilde_and_slash_in_pointers() -> None:
    obj = make_config_map()
    obj["metadata"]["annotations"] = {"example.com/a~b": "x"}
    patched = apply_json_patch(
        obj,
        [
            {"op": "replace", "path": "/metadata/annotations/example.com~1a~0b", "value": "y"},
            {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"},
        ],
    )

    assert patched["metadata"]["annotations"] == {"example.com/a~b": "y"}
    assert patched["metadata"]["labels"]["app.kubernetes.io/name"] == "web"


def test_json_patch_remove_deletes_a_key_and_an_array_item() -> None:
    obj = make_deployment(make_container("a"), make_container("b"))
    patched = apply_json_patch(
        obj,
        [
            {"op": "remove", "path": "/spec/template/spec/containers/0"},
            {"op": "remove", "path": "/metadata/finalizers"},
        ],
    )

    assert [c["name"] for c in containers_of(patched)] == ["b"]
    assert "finalizers" not in patched["metadata"]


def test_json_patch_replace_changes_a_value() -> None:
    patched = apply_json_patch(make_deployment(), [{"op": "replace", "path": "/spec/replicas", "value": 5}])

    assert patched["spec"]["replicas"] == 5


def test_json_patch_move_and_copy() -> None:
    patched = apply_json_patch(
        make_config_map(a="1"),
        [
            {"op": "copy", "from": "/data/a", "path": "/data/b"},
            {"op": "move", "from": "/data/a", "path": "/data/c"},
        ],
    )

    assert patched["data"] == {"b": "1", "c": "1"}


def test_json_patch_passing_test_lets_the_patch_through() -> None:
    patched = apply_json_patch(
        make_deployment(),
        [
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 2},
        ],
    )

    assert patched["spec"]["replicas"] == 2


def test_json_patch_failing_test_is_a_422_with_the_servers_generic_message() -> None:
    with pytest.raises(PatchError) as caught:
        apply_json_patch(make_deployment(), [{"op": "test", "path": "/spec/replicas", "value": 3}])

    assert (caught.value.code, caught.value.reason, caught.value.message) == (422, "Invalid", REJECTED)
    assert "/spec/replicas" in caught.value.detail


def test_json_patch_test_distinguishes_true_from_one() -> None:
    obj = make_config_map()
    obj["immutable"] = True

    with pytest.raises(PatchError):
        apply_json_patch(obj, [{"op": "test", "path": "/immutable", "value": 1}])


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "/spec/missing/deep", "value": 1},
        {"op": "replace", "path": "/spec/missing", "value": 1},
        {"op": "remove", "path": "/spec/missing"},
        {"op": "remove", "path": "/spec/template/spec/containers/7"},
        {"op": "add", "path": "/spec/template/spec/containers/9", "value": {}},
        {"op": "move", "from": "/spec/missing", "path": "/spec/other"},
        {"op": "copy", "from": "/spec/missing", "path": "/spec/other"},
        {"op": "add", "path": "spec/replicas", "value": 1},
        {"op": "jump", "path": "/spec"},
    ],
    ids=["add-deep", "replace", "remove", "remove-index", "add-index", "move", "copy", "no-slash", "bad-op"],
)
def test_json_patch_bad_paths_and_ops_are_422(operation: dict[str, Any]) -> None:
    with pytest.raises(PatchError) as caught:
        apply_json_patch(make_deployment(), [operation])

    assert caught.value.code == 422
    assert caught.value.reason == "Invalid"


def test_json_patch_is_all_or_nothing_and_never_mutates_the_input() -> None:
    obj = make_deployment()
    before = copy.deepcopy(obj)

    with pytest.raises(PatchError):
        apply_json_patch(
            obj,
            [{"op": "replace", "path": "/spec/replicas", "value": 9}, {"op": "remove", "path": "/nope"}],
        )

    assert obj == before


def test_json_patch_body_that_is_not_a_list_is_400() -> None:
    with pytest.raises(PatchError) as caught:
        apply_json_patch(make_deployment(), {"op": "add"})  # type: ignore[arg-type]

    assert caught.value.code == 400


def test_json_patch_negative_index_counts_from_the_end() -> None:
    obj = make_deployment(make_container("a"), make_container("b"))
    patched = apply_json_patch(obj, [{"op": "remove", "path": "/spec/template/spec/containers/-1"}])

    assert [c["name"] for c in containers_of(patched)] == ["a"]


# --- merge patch ---------------------------------------------------------------------------------------


def test_merge_patch_merges_maps_and_null_deletes() -> None:
    patched = apply_merge_patch(make_config_map(a="1", b="2"), {"data": {"a": None, "c": "3"}})

    assert patched["data"] == {"b": "2", "c": "3"}


def test_merge_patch_replaces_lists_whole() -> None:
    obj = make_deployment(make_container("a"), make_container("b"))
    patched = apply_merge_patch(obj, {"spec": {"template": {"spec": {"containers": [make_container("c")]}}}})

    assert [c["name"] for c in containers_of(patched)] == ["c"]


def test_merge_patch_creates_missing_maps_without_keeping_nulls() -> None:
    patched = apply_merge_patch(make_config_map(), {"metadata": {"annotations": {"a": "1", "gone": None}}})

    assert patched["metadata"]["annotations"] == {"a": "1"}


def test_merge_patch_does_not_mutate_the_input() -> None:
    obj = make_config_map(a="1")
    apply_merge_patch(obj, {"data": {"a": "2"}})

    assert obj["data"] == {"a": "1"}


# --- strategic merge patch -------------------------------------------------------------------------------


def test_strategic_merge_merges_containers_by_name() -> None:
    obj = make_deployment(make_container("web"), make_container("sidecar", "envoy:1"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy:2"}]}}}}

    patched = apply_strategic_merge_patch(obj, patch)

    assert containers_of(patched) == [make_container("web"), make_container("sidecar", "envoy:2")]


def test_strategic_merge_puts_new_containers_first_like_the_real_server() -> None:
    # normalizeElementOrder/mergeSortedSlice: items the patch names precede server-only items they
    # cannot be ordered against (the kubectl patch docs show the added container first).
    obj = make_deployment(make_container("web"))
    patch = {"spec": {"template": {"spec": {"containers": [make_container("log", "fluent:1")]}}}}

    patched = apply_strategic_merge_patch(obj, patch)

    assert [c["name"] for c in containers_of(patched)] == ["log", "web"]


def test_strategic_merge_set_element_order_places_new_items_last() -> None:
    obj = make_deployment(make_container("web"))
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}],
                    "containers": [make_container("log", "fluent:1")],
                }
            }
        }
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert [c["name"] for c in containers_of(patched)] == ["web", "log"]


def test_strategic_merge_merges_env_by_name_inside_a_container() -> None:
    obj = make_deployment(
        make_container("web", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    )
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "3"}]}]}}
        }
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert containers_of(patched)[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]


def test_strategic_merge_merges_container_ports_by_container_port() -> None:
    obj = make_deployment(make_container("web", ports=[{"containerPort": 80, "name": "http"}]))
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "web"}]}]}
            }
        }
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert containers_of(patched)[0]["ports"] == [{"containerPort": 80, "name": "web"}]


def test_strategic_merge_merges_service_ports_by_port() -> None:
    obj = make_service({"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443})
    patched = apply_strategic_merge_patch(obj, {"spec": {"ports": [{"port": 443, "targetPort": 9443}]}})

    assert patched["spec"]["ports"] == [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 9443}]


def test_strategic_merge_merges_volumes_and_volume_mounts() -> None:
    obj = make_deployment(
        make_container("web", volumeMounts=[{"name": "data", "mountPath": "/data"}]),
        volumes=[{"name": "data", "emptyDir": {}}],
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                    "containers": [
                        {"name": "web", "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}
                    ],
                }
            }
        }
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert [v["name"] for v in patched["spec"]["template"]["spec"]["volumes"]] == ["cache", "data"]
    assert [m["mountPath"] for m in containers_of(patched)[0]["volumeMounts"]] == ["/cache", "/data"]


def test_strategic_merge_merges_conditions_by_type_and_owner_references_by_uid() -> None:
    obj = make_deployment()
    obj["status"] = {"conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing"}]}
    obj["metadata"]["ownerReferences"] = [{"uid": "u1", "name": "a"}]
    patch = {
        "status": {"conditions": [{"type": "Available", "status": "True"}]},
        "metadata": {"ownerReferences": [{"uid": "u2", "name": "b"}]},
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert patched["status"]["conditions"] == [
        {"type": "Available", "status": "True"},
        {"type": "Progressing"},
    ]
    assert [ref["uid"] for ref in patched["metadata"]["ownerReferences"]] == ["u2", "u1"]


def test_strategic_merge_merges_image_pull_secrets_by_name() -> None:
    obj = make_deployment()
    obj["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "a"}]
    patch = {"spec": {"template": {"spec": {"imagePullSecrets": [{"name": "b"}]}}}}

    patched = apply_strategic_merge_patch(obj, patch)

    assert patched["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "b"}, {"name": "a"}]


def test_strategic_merge_replaces_lists_without_merge_key() -> None:
    obj = make_deployment(make_container("web", args=["--a", "--b"]))
    obj["spec"]["template"]["spec"]["tolerations"] = [{"key": "x", "operator": "Exists"}]
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "tolerations": [{"key": "y", "operator": "Exists"}],
                    "containers": [{"name": "web", "args": ["--c"]}],
                }
            }
        }
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert patched["spec"]["template"]["spec"]["tolerations"] == [{"key": "y", "operator": "Exists"}]
    assert containers_of(patched)[0]["args"] == ["--c"]


def test_strategic_merge_unions_finalizers() -> None:
    patched = apply_strategic_merge_patch(
        make_deployment(), {"metadata": {"finalizers": ["a.io/one", "b.io/two"]}}
    )

    assert patched["metadata"]["finalizers"] == ["a.io/one", "b.io/two"]


def test_strategic_merge_null_deletes_a_map_key() -> None:
    patched = apply_strategic_merge_patch(make_config_map(a="1", b="2"), {"data": {"a": None}})

    assert patched["data"] == {"b": "2"}


def test_strategic_merge_patch_delete_on_a_list_item_removes_it() -> None:
    obj = make_deployment(make_container("web"), make_container("sidecar"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}

    patched = apply_strategic_merge_patch(obj, patch)

    assert [c["name"] for c in containers_of(patched)] == ["web"]


def test_strategic_merge_patch_replace_in_a_list_replaces_the_list() -> None:
    obj = make_deployment(make_container("web"), make_container("sidecar"))
    patch = {"spec": {"template": {"spec": {"containers": [make_container("only"), {"$patch": "replace"}]}}}}

    patched = apply_strategic_merge_patch(obj, patch)

    assert containers_of(patched) == [make_container("only")]


def test_strategic_merge_patch_replace_in_a_map_replaces_the_map() -> None:
    obj = make_config_map()
    obj["metadata"]["labels"] = {"app": "web", "tier": "front"}
    patched = apply_strategic_merge_patch(
        obj, {"metadata": {"labels": {"only": "this", "$patch": "replace"}}}
    )

    assert patched["metadata"]["labels"] == {"only": "this"}


def test_strategic_merge_patch_delete_in_a_map_empties_it_like_the_real_server() -> None:
    patched = apply_strategic_merge_patch(make_config_map(a="1"), {"data": {"$patch": "delete"}})

    assert patched["data"] == {}


def test_strategic_merge_unknown_patch_directive_is_rejected() -> None:
    with pytest.raises(PatchError) as caught:
        apply_strategic_merge_patch(make_config_map(a="1"), {"data": {"$patch": "explode"}})

    assert caught.value.code == 500


def test_strategic_merge_delete_from_primitive_list_removes_values() -> None:
    obj = make_deployment()
    obj["metadata"]["finalizers"] = ["a.io/one", "b.io/two", "c.io/three"]

    patched = apply_strategic_merge_patch(
        obj, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b.io/two"]}}
    )

    assert patched["metadata"]["finalizers"] == ["a.io/one", "c.io/three"]


def test_strategic_merge_set_element_order_reorders_the_merged_list() -> None:
    obj = make_deployment(make_container("a"), make_container("b"), make_container("c"))
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
                    "containers": [{"name": "b", "image": "new"}],
                }
            }
        }
    }

    patched = apply_strategic_merge_patch(obj, patch)

    assert [c["name"] for c in containers_of(patched)] == ["c", "b", "a"]
    assert containers_of(patched)[1]["image"] == "new"


def test_strategic_merge_retain_keys_drops_keys_not_listed() -> None:
    obj = make_deployment()
    obj["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}

    patched = apply_strategic_merge_patch(obj, patch)

    assert patched["spec"]["strategy"] == {"type": "Recreate"}


def test_strategic_merge_retain_keys_must_cover_the_patched_keys() -> None:
    obj = make_deployment()
    obj["spec"]["strategy"] = {"type": "RollingUpdate"}

    with pytest.raises(PatchError) as caught:
        apply_strategic_merge_patch(
            obj, {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}
        )

    assert caught.value.code == 422


def test_strategic_merge_list_item_without_merge_key_is_rejected() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}

    with pytest.raises(PatchError):
        apply_strategic_merge_patch(make_deployment(), patch)


def test_strategic_merge_uses_the_pod_template_path_of_each_kind() -> None:
    cron: KubeObject = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [make_container("a")]}}}}},
    }
    patch = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [make_container("b")]}}}}}}

    patched = apply_strategic_merge_patch(cron, patch)

    names = [c["name"] for c in patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["a", "b"]


def test_strategic_merge_does_not_mutate_the_input_or_the_patch() -> None:
    obj = make_deployment(make_container("web"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "delete"}]}}}}
    before_obj, before_patch = copy.deepcopy(obj), copy.deepcopy(patch)

    apply_strategic_merge_patch(obj, patch)

    assert (obj, patch) == (before_obj, before_patch)


@pytest.mark.parametrize(
    ("api_version", "kind", "supported"),
    [
        ("v1", "ConfigMap", True),
        ("apps/v1", "Deployment", True),
        ("batch/v1", "CronJob", True),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", True),
        ("example.com/v1", "Widget", False),
        ("dr-syncer.io/v1alpha1", "NamespaceMapping", False),
    ],
)
def test_strategic_merge_is_refused_for_custom_resources(
    api_version: str, kind: str, supported: bool
) -> None:
    assert supports_strategic_merge(api_version, kind) is supported


def test_json_equal_follows_json_not_python() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal({"a": [1]}, {"a": [True]})
