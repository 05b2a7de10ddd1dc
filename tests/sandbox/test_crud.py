"""Create, get, list, replace: metadata rules, optimistic concurrency and Status bodies."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.sandbox.conftest import Raw
from tests.sandbox.factories import deployment


def _error(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, object]:
    body: dict[str, object] = json.loads(exc.value.body)
    return body


def test_create_sets_uid_timestamp_and_resource_version(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert int(created.metadata.resource_version) > 0
    assert created.metadata.namespace == ns


def test_resource_versions_increase_across_kinds(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    second = core.create_namespaced_secret(ns, {"metadata": {"name": "b"}})
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


def test_config_maps_have_no_generation(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    assert created.metadata.generation is None


def test_deployment_generation_starts_at_one_and_bumps_on_spec_change_only(
    apps: client.AppsV1Api, ns: str
) -> None:
    created = apps.create_namespaced_deployment(ns, deployment("web"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_generate_name(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "cfg-"}})
    assert created.metadata.name.startswith("cfg-")
    assert len(created.metadata.name) == len("cfg-") + 5


def test_missing_name_is_invalid(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {}})
    assert exc.value.status == 422
    assert _error(exc)["reason"] == "Invalid"


def test_already_exists(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    body = _error(exc)
    assert (exc.value.status, body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'configmaps "a" already exists'
    assert body["details"] == {"name": "a", "kind": "configmaps"}


def test_not_found_status_body(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("missing", ns)
    body = _error(exc)
    assert exc.value.status == 404
    assert body["kind"] == "Status"
    assert body["status"] == "Failure"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "missing" not found'


def test_not_found_names_the_group(apps: client.AppsV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        apps.read_namespaced_deployment("missing", ns)
    body = _error(exc)
    assert body["message"] == 'deployments.apps "missing" not found'
    assert body["details"] == {"name": "missing", "group": "apps", "kind": "deployments"}


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("no-such-namespace-x1", {"metadata": {"name": "a"}})
    assert exc.value.status == 404
    assert _error(exc)["message"] == 'namespaces "no-such-namespace-x1" not found'


def test_namespace_mismatch_is_400(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "namespace": "other"}})
    assert exc.value.status == 400
    assert _error(exc)["reason"] == "BadRequest"
    assert "does not match the namespace" in str(_error(exc)["message"])


@pytest.mark.parametrize("name", ["Upper", "under_score", "-dash", "a" * 254])
def test_invalid_names_are_422(core: client.CoreV1Api, ns: str, name: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    body = _error(exc)
    assert (exc.value.status, body["reason"]) == (422, "Invalid")
    causes = body["details"]["causes"]  # type: ignore[index]
    assert causes[0]["field"] == "metadata.name"


def test_service_names_must_be_dns_labels(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, {"metadata": {"name": "a.b"}, "spec": {"ports": [{"port": 80}]}})
    assert exc.value.status == 422


def test_invalid_label_value_is_422(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "labels": {"k": "bad value"}}})
    assert exc.value.status == 422


def test_list_has_kind_and_resource_version(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    status, body, _ = raw("GET", f"/api/v1/namespaces/{ns}/configmaps")
    assert status == 200
    assert body["kind"] == "ConfigMapList"
    assert body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) > 0


def test_new_namespace_has_default_service_account_and_root_ca(core: client.CoreV1Api, ns: str) -> None:
    def ready() -> bool:
        accounts = {a.metadata.name for a in core.list_namespaced_service_account(ns).items}
        maps = {c.metadata.name for c in core.list_namespaced_config_map(ns).items}
        return "default" in accounts and "kube-root-ca.crt" in maps

    from tests.sandbox.factories import eventually

    eventually(ready)


def test_list_across_namespaces(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "across"}})
    items = core.list_config_map_for_all_namespaces(field_selector="metadata.name=across").items
    assert [(i.metadata.namespace, i.metadata.name) for i in items] == [(ns, "across")]


def test_replace_with_current_resource_version(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    created.data = {"k": "2"}
    replaced = core.replace_namespaced_config_map("a", ns, created)
    assert replaced.data == {"k": "2"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)


def test_replace_with_stale_resource_version_conflicts(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}})
    created.data = {"k": "3"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("a", ns, created)
    body = _error(exc)
    assert (exc.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )


def test_replace_without_resource_version_is_unconditional_for_builtins(
    core: client.CoreV1Api, ns: str
) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    replaced = core.replace_namespaced_config_map("a", ns, {"metadata": {"name": "a"}, "data": {"k": "9"}})
    assert replaced.data == {"k": "9"}


def test_noop_replace_keeps_resource_version(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    again = core.replace_namespaced_config_map("a", ns, created)
    assert again.metadata.resource_version == created.metadata.resource_version


def test_replace_missing_object_is_404(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("missing", ns, {"metadata": {"name": "missing"}})
    assert exc.value.status == 404


def test_replace_name_mismatch_is_400(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("a", ns, {"metadata": {"name": "b"}})
    assert exc.value.status == 400
    assert _error(exc)["message"] == "the name of the object (b) does not match the name on the URL (a)"


def test_replace_keeps_uid_and_creation_timestamp(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    replaced = core.replace_namespaced_config_map(
        "a", ns, {"metadata": {"name": "a", "uid": "forged", "creationTimestamp": "2001-01-01T00:00:00Z"}}
    )
    assert replaced.metadata.uid == created.metadata.uid
    assert replaced.metadata.creation_timestamp == created.metadata.creation_timestamp


def test_post_to_an_item_is_method_not_allowed(raw: Raw, ns: str) -> None:
    status, body, _ = raw("POST", f"/api/v1/namespaces/{ns}/configmaps/a", {"metadata": {"name": "a"}})
    assert status == 405
    assert body["reason"] == "MethodNotAllowed"


def test_unknown_resource_is_404(raw: Raw, ns: str) -> None:
    status, body, _ = raw("GET", f"/api/v1/namespaces/{ns}/widgets")
    assert status == 404
    assert body["reason"] == "NotFound"


def test_dry_run_create_stores_nothing(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}}, dry_run="All")
    assert created.metadata.uid
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("a", ns)
    assert exc.value.status == 404


def test_dry_run_update_changes_nothing(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    preview = core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}}, dry_run="All")
    assert preview.data == {"k": "2"}
    stored = core.read_namespaced_config_map("a", ns)
    assert stored.data == {"k": "1"}
    assert stored.metadata.resource_version == created.metadata.resource_version


def test_bad_dry_run_value_is_400(raw: Raw, ns: str) -> None:
    status, _, _ = raw(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "a"}}, query={"dryRun": "Some"}
    )
    assert status == 400


def test_dynamic_client_create_and_get(dyn: DynamicClient, ns: str) -> None:
    secrets = dyn.resources.get(api_version="v1", kind="Secret")
    secrets.create(
        namespace=ns,
        body={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "stringData": {"password": "hunter2"},
        },
    )
    fetched = secrets.get(name="s", namespace=ns)
    assert fetched.data.password == "aHVudGVyMg=="
    assert fetched.type == "Opaque"


def test_cluster_scoped_create_ignores_namespace_path(raw: Raw) -> None:
    status, _, _ = raw("POST", "/api/v1/namespaces/default/nodes", {"metadata": {"name": "x"}})
    assert status == 404
