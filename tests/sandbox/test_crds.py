"""CustomResourceDefinitions: registration of served versions, custom resources, subresources, removal."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.sandbox.conftest import Raw
from tests.sandbox.factories import crd, eventually

GROUP = "contract.dr-syncer.io"


@pytest.fixture
def kind(api: client.ApiClient, raw: Raw) -> Iterator[str]:
    plural = f"things{uuid.uuid4().hex[:6]}"
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(crd(plural, "Thing" + plural[6:].capitalize(), GROUP))
    eventually(lambda: raw("GET", f"/apis/{GROUP}/v1/{plural}")[0] == 200)
    yield plural
    with contextlib.suppress(ApiException):
        extensions.delete_custom_resource_definition(f"{plural}.{GROUP}")


def _thing(kind_plural: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Thing" + kind_plural[6:].capitalize(),
        "metadata": {"name": name},
        "spec": spec,
    }


def test_crd_becomes_established(api: client.ApiClient, kind: str) -> None:
    definition = client.ApiextensionsV1Api(api).read_custom_resource_definition(f"{kind}.{GROUP}")
    conditions = {c.type: c.status for c in definition.status.conditions}
    assert conditions["Established"] == "True"
    assert definition.status.stored_versions == ["v1"]


def test_crd_versions_are_discoverable(raw: Raw, kind: str) -> None:
    for version in ("v1", "v1beta1"):
        status, body, _ = raw("GET", f"/apis/{GROUP}/{version}")
        assert status == 200
        assert kind in [r["name"] for r in body["resources"]]
    _, body, _ = raw("GET", f"/apis/{GROUP}/v1")
    assert {f"{kind}/status", f"{kind}/scale"} <= {r["name"] for r in body["resources"]}


def test_crd_group_in_group_list(raw: Raw, kind: str) -> None:
    _, body, _ = raw("GET", "/apis")
    group = next(g for g in body["groups"] if g["name"] == GROUP)
    assert group["preferredVersion"]["version"] == "v1"


def test_custom_resource_crud(api: client.ApiClient, kind: str, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    created = custom.create_namespaced_custom_object(GROUP, "v1", ns, kind, _thing(kind, "t", size=1))
    assert created["metadata"]["generation"] == 1
    fetched = custom.get_namespaced_custom_object(GROUP, "v1", ns, kind, "t")
    assert fetched["spec"] == {"size": 1}
    listed = custom.list_namespaced_custom_object(GROUP, "v1", ns, kind)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["t"]
    assert listed["items"][0]["kind"].startswith("Thing")


def test_custom_resource_served_in_every_version(api: client.ApiClient, kind: str, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, "v1", ns, kind, _thing(kind, "t"))
    other = custom.get_namespaced_custom_object(GROUP, "v1beta1", ns, kind, "t")
    assert other["apiVersion"] == f"{GROUP}/v1beta1"


def test_custom_resource_update_requires_resource_version(
    raw: Raw, api: client.ApiClient, kind: str, ns: str
) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, "v1", ns, kind, _thing(kind, "t"))
    status, body, _ = raw("PUT", f"/apis/{GROUP}/v1/namespaces/{ns}/{kind}/t", _thing(kind, "t", size=2))
    assert (status, body["reason"]) == (422, "Invalid")


def test_custom_resource_status_subresource(api: client.ApiClient, kind: str, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    body = _thing(kind, "t", size=1)
    body["status"] = {"ready": True}
    created = custom.create_namespaced_custom_object(GROUP, "v1", ns, kind, body)
    assert "status" not in created
    patched = custom.patch_namespaced_custom_object_status(
        GROUP, "v1", ns, kind, "t", {"status": {"ready": True}}
    )
    assert patched["status"] == {"ready": True}
    assert patched["metadata"]["generation"] == 1


def test_custom_resource_scale(api: client.ApiClient, kind: str, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, "v1", ns, kind, _thing(kind, "t", replicas=2))
    scale = custom.get_namespaced_custom_object_scale(GROUP, "v1", ns, kind, "t")
    assert scale["spec"]["replicas"] == 2
    custom.patch_namespaced_custom_object_scale(GROUP, "v1", ns, kind, "t", {"spec": {"replicas": 0}})
    assert custom.get_namespaced_custom_object(GROUP, "v1", ns, kind, "t")["spec"]["replicas"] == 0


def test_deleting_crd_unregisters_kind(api: client.ApiClient, raw: Raw, kind: str, ns: str) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, "v1", ns, kind, _thing(kind, "t"))
    client.ApiextensionsV1Api(api).delete_custom_resource_definition(f"{kind}.{GROUP}")
    eventually(lambda: raw("GET", f"/apis/{GROUP}/v1/namespaces/{ns}/{kind}")[0] == 404)
