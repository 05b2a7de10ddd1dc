"""Delete semantics: finalizers, propagation policies, GC, deletecollection, namespaces, preconditions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.sandbox.conftest import Raw
from tests.sandbox.factories import eventually


def _gone(read: Any, *args: Any) -> bool:
    try:
        read(*args)
    except ApiException as exc:
        return exc.status == 404
    return False


def _owned(name: str, owner: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": owner.metadata.name,
                    "uid": owner.metadata.uid,
                }
            ],
        }
    }


def test_delete_returns_success_status(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    result = core.delete_namespaced_config_map("a", ns)
    assert result["status"] == "Success"
    assert result["details"]["name"] == "a"


def test_delete_service_returns_the_object(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_service(ns, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert core.delete_namespaced_service("s", ns).metadata.name == "s"


def test_delete_missing_is_404(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map("missing", ns)
    assert exc.value.status == 404


def test_finalizer_keeps_object_with_deletion_timestamp(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("a", ns)
    held = core.read_namespaced_config_map("a", ns)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/hold"]


def test_removing_last_finalizer_deletes(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("a", ns)
    core.patch_namespaced_config_map("a", ns, {"metadata": {"finalizers": None}})
    assert eventually(lambda: _gone(core.read_namespaced_config_map, "a", ns))


def test_deleting_object_cannot_be_deleted_twice_differently(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("a", ns)
    again = core.delete_namespaced_config_map("a", ns)
    assert again["metadata"]["deletionTimestamp"]
    core.patch_namespaced_config_map("a", ns, {"metadata": {"finalizers": None}})


def test_background_gc_deletes_dependents(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(ns, _owned("child", owner))
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Background")
    assert eventually(lambda: _gone(core.read_namespaced_config_map, "child", ns))


def test_orphan_keeps_dependents_without_owner(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(ns, _owned("child", owner))
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Orphan")
    assert eventually(lambda: _gone(core.read_namespaced_config_map, "owner", ns))
    assert not core.read_namespaced_config_map("child", ns).metadata.owner_references


def test_foreground_deletes_dependents_first(core: client.CoreV1Api, ns: str) -> None:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(ns, _owned("child", owner))
    result = core.delete_namespaced_config_map("owner", ns, propagation_policy="Foreground")
    assert "foregroundDeletion" in result["metadata"]["finalizers"]
    assert eventually(lambda: _gone(core.read_namespaced_config_map, "owner", ns))
    assert _gone(core.read_namespaced_config_map, "child", ns)


def test_invalid_propagation_policy_is_400(raw: Raw, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    status, _, _ = raw("DELETE", f"/api/v1/namespaces/{ns}/configmaps/a", {"propagationPolicy": "Sideways"})
    assert status == 400


def test_precondition_resource_version_mismatch_conflicts(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map("a", ns, body={"preconditions": {"resourceVersion": "1"}})
    assert exc.value.status == 409


def test_precondition_uid_mismatch_conflicts(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map("a", ns, body={"preconditions": {"uid": str(uuid.uuid4())}})
    assert exc.value.status == 409


def test_dry_run_delete_keeps_object(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    core.delete_namespaced_config_map("a", ns, dry_run="All")
    assert core.read_namespaced_config_map("a", ns).metadata.name == "a"


def test_delete_collection_by_label(core: client.CoreV1Api, ns: str) -> None:
    for name, tier in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"tier": tier}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="tier=x")
    remaining = {c.metadata.name for c in core.list_namespaced_config_map(ns, label_selector="tier").items}
    assert remaining == {"c"}


def test_namespace_delete_is_terminating_then_gone(core: client.CoreV1Api) -> None:
    name = f"ct-del-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "a"}})
    deleted = core.delete_namespace(name)
    assert deleted["status"]["phase"] == "Terminating"
    assert eventually(lambda: _gone(core.read_namespace, name))
    assert _gone(core.read_namespaced_config_map, "a", name)


def test_create_in_terminating_namespace_is_forbidden(core: client.CoreV1Api) -> None:
    name = f"ct-term-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(
        name, {"metadata": {"name": "hold", "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespace(name)
    eventually(lambda: core.read_namespace(name).status.phase == "Terminating")
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(name, {"metadata": {"name": "b"}})
    assert exc.value.status == 403
    assert "because it is being terminated" in exc.value.body
    core.patch_namespaced_config_map("hold", name, {"metadata": {"finalizers": None}})
    assert eventually(lambda: _gone(core.read_namespace, name))
