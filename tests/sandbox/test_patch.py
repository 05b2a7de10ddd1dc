"""PATCH: JSON patch, merge patch, strategic merge patch and server-side apply."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.sandbox.conftest import Raw
from tests.sandbox.factories import crd, deployment, eventually

JSON_PATCH = "application/json-patch+json"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def _container_names(obj: dict[str, object]) -> list[str]:
    return [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]]  # type: ignore[index]


@pytest.fixture
def web(apps: client.AppsV1Api, ns: str) -> str:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    apps.create_namespaced_deployment(ns, body)
    return ns


def test_json_patch(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    ops = [{"op": "replace", "path": "/data/k", "value": "2"}, {"op": "add", "path": "/data/n", "value": "3"}]
    status, body, _ = raw("PATCH", f"/api/v1/namespaces/{ns}/configmaps/a", ops, content_type=JSON_PATCH)
    assert status == 200
    assert body["data"] == {"k": "2", "n": "3"}


def test_json_patch_failed_test_is_422(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    ops = [{"op": "test", "path": "/data/k", "value": "nope"}]
    status, body, _ = raw("PATCH", f"/api/v1/namespaces/{ns}/configmaps/a", ops, content_type=JSON_PATCH)
    assert status == 422
    assert body["reason"] == "Invalid"


def test_merge_patch_null_removes_key(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1", "x": "2"}})
    status, body, _ = raw(
        "PATCH", f"/api/v1/namespaces/{ns}/configmaps/a", {"data": {"x": None}}, content_type=MERGE
    )
    assert status == 200
    assert body["data"] == {"k": "1"}


def test_merge_patch_replaces_lists(raw: Raw, web: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "other", "image": "busybox"}]}}}}
    status, body, _ = raw(
        "PATCH", f"/apis/apps/v1/namespaces/{web}/deployments/web", patch, content_type=MERGE
    )
    assert status == 200
    assert _container_names(body) == ["other"]


def test_strategic_merge_merges_containers_by_name(raw: Raw, web: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}}
    status, body, _ = raw(
        "PATCH", f"/apis/apps/v1/namespaces/{web}/deployments/web", patch, content_type=STRATEGIC
    )
    assert status == 200
    assert sorted(_container_names(body)) == ["app", "sidecar"]


def test_strategic_merge_merges_env_by_name(raw: Raw, web: str) -> None:
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}]}}
        }
    }
    _, body, _ = raw(
        "PATCH", f"/apis/apps/v1/namespaces/{web}/deployments/web", patch, content_type=STRATEGIC
    )
    env = body["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"] for e in env} == {"A", "B"}


def test_strategic_merge_delete_directive(raw: Raw, web: str) -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]}
            }
        }
    }
    _, body, _ = raw(
        "PATCH", f"/apis/apps/v1/namespaces/{web}/deployments/web", patch, content_type=STRATEGIC
    )
    assert not body["spec"]["template"]["spec"]["containers"][0].get("env")


def test_typed_client_patch_is_strategic(apps: client.AppsV1Api, web: str) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}}
    patched = apps.patch_namespaced_deployment("web", web, patch)
    assert sorted(c.name for c in patched.spec.template.spec.containers) == ["app", "sidecar"]


def test_unknown_patch_type_is_415(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    path = f"/api/v1/namespaces/{ns}/configmaps/a"
    status, body, _ = raw("PATCH", path, '{"data": {}}', content_type="text/plain")
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"


def test_patch_missing_object_is_404(raw: Raw, ns: str) -> None:
    status, _, _ = raw("PATCH", f"/api/v1/namespaces/{ns}/configmaps/none", {"data": {}}, content_type=MERGE)
    assert status == 404


def test_patch_with_stale_resource_version_conflicts(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}})
    patch = {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"k": "3"}}
    status, body, _ = raw("PATCH", f"/api/v1/namespaces/{ns}/configmaps/a", patch, content_type=MERGE)
    assert (status, body["reason"]) == (409, "Conflict")


def test_strategic_merge_on_custom_resource_is_415(raw: Raw, api: client.ApiClient, ns: str) -> None:
    extensions = client.ApiextensionsV1Api(api)
    definition = crd("gadgets", "Gadget")
    if not extensions.list_custom_resource_definition(
        field_selector="metadata.name=gadgets.example.dr-syncer.io"
    ).items:
        extensions.create_custom_resource_definition(definition)
    custom = client.CustomObjectsApi(api)
    eventually(lambda: raw("GET", "/apis/example.dr-syncer.io/v1/gadgets")[0] == 200)
    custom.create_namespaced_custom_object(
        "example.dr-syncer.io",
        "v1",
        ns,
        "gadgets",
        {
            "apiVersion": "example.dr-syncer.io/v1",
            "kind": "Gadget",
            "metadata": {"name": "g"},
            "spec": {"a": 1},
        },
    )
    path = f"/apis/example.dr-syncer.io/v1/namespaces/{ns}/gadgets/g"
    status, body, _ = raw("PATCH", path, {"spec": {"a": 2}}, content_type=STRATEGIC)
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    status, body, _ = raw("PATCH", path, {"spec": {"a": 2}}, content_type=MERGE)
    assert (status, body["spec"]["a"]) == (200, 2)


def _apply(
    raw: Raw, path: str, body: dict[str, object], manager: str | None = "tester", force: bool = False
) -> tuple[int, dict[str, object]]:
    query = {}
    if manager:
        query["fieldManager"] = manager
    if force:
        query["force"] = "true"
    status, result, _ = raw("PATCH", path, json.dumps(body), content_type=APPLY, query=query)
    return status, result


def _cm(name: str, data: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_apply_creates_when_absent(raw: Raw, ns: str) -> None:
    status, body = _apply(raw, f"/api/v1/namespaces/{ns}/configmaps/s", _cm("s", {"k": "v"}))
    assert status == 201
    assert body["data"] == {"k": "v"}


def test_apply_requires_field_manager(raw: Raw, ns: str) -> None:
    status, body = _apply(raw, f"/api/v1/namespaces/{ns}/configmaps/s", _cm("s", {"k": "v"}), manager=None)
    assert (status, body["reason"]) == (400, "BadRequest")


def test_apply_records_managed_fields(raw: Raw, ns: str) -> None:
    _, body = _apply(raw, f"/api/v1/namespaces/{ns}/configmaps/s", _cm("s", {"k": "v"}))
    entries = body["metadata"]["managedFields"]  # type: ignore[index]
    mine = [e for e in entries if e["manager"] == "tester"]
    assert mine
    assert mine[0]["operation"] == "Apply"
    assert "f:k" in mine[0]["fieldsV1"]["f:data"]


def test_apply_removes_fields_no_longer_applied(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/s"
    _apply(raw, path, _cm("s", {"a": "1", "b": "2"}))
    _, body = _apply(raw, path, _cm("s", {"a": "1"}))
    assert body["data"] == {"a": "1"}


def test_apply_conflict_with_another_manager(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/s"
    _apply(raw, path, _cm("s", {"a": "1"}), manager="first")
    status, body = _apply(raw, path, _cm("s", {"a": "2"}), manager="second")
    assert (status, body["reason"]) == (409, "Conflict")
    causes = body["details"]["causes"]  # type: ignore[index]
    assert causes[0]["reason"] == "FieldManagerConflict"
    assert causes[0]["field"] == ".data.a"
    assert "Apply failed with 1 conflict" in str(body["message"])


def test_apply_force_takes_ownership(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/s"
    _apply(raw, path, _cm("s", {"a": "1"}), manager="first")
    status, body = _apply(raw, path, _cm("s", {"a": "2"}), manager="second", force=True)
    assert status == 200
    assert body["data"] == {"a": "2"}


def test_apply_same_value_by_two_managers_shares_ownership(raw: Raw, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/s"
    _apply(raw, path, _cm("s", {"a": "1"}), manager="first")
    status, body = _apply(raw, path, _cm("s", {"a": "1"}), manager="second")
    assert status == 200
    managers = {e["manager"] for e in body["metadata"]["managedFields"]}  # type: ignore[index]
    assert {"first", "second"} <= managers


def test_update_after_apply_conflicts_on_next_apply(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/s"
    _apply(raw, path, _cm("s", {"a": "1"}))
    core.patch_namespaced_config_map("s", ns, {"data": {"a": "edited"}}, field_manager="editor")
    status, _ = _apply(raw, path, _cm("s", {"a": "1"}))
    assert status == 409


def test_apply_dry_run_changes_nothing(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/s"
    status, _, _ = raw(
        "PATCH",
        path,
        json.dumps(_cm("s", {"a": "1"})),
        content_type=APPLY,
        query={"fieldManager": "t", "dryRun": "All"},
    )
    assert status == 201
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("s", ns)


def test_apply_deployment_keeps_defaults(raw: Raw, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    status, body = _apply(raw, path, deployment("web", replicas=2))
    assert status == 201
    assert body["spec"]["revisionHistoryLimit"] == 10  # type: ignore[index]
    status, body = _apply(raw, path, deployment("web", replicas=3))
    assert (status, body["spec"]["replicas"]) == (200, 3)  # type: ignore[index]
