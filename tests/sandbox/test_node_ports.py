"""Contract: kube-apiserver's Service nodePort allocator, and how its allocations show in managedFields.

The allocator (pkg/registry/core/service/portallocator) hands each NodePort and LoadBalancer Service a
port from 30000-32767; a requested port already taken is a 422 "provided port is already allocated".
The allocation happens in the registry, after the request's managedFields entry is computed, so an
allocated port is owned by no manager while a port the client sent is owned by the client. An update
that leaves a port's nodePort out keeps the allocated one (``patchAllocatedValues``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.sandbox.factories import service


def _node_port_owners(svc: Any) -> list[str]:
    """Managers whose field set includes a nodePort of any port."""
    return [e.manager for e in svc.metadata.managed_fields or [] if "f:nodePort" in json.dumps(e.fields_v1)]


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer"])
def test_taken_node_port_is_a_422_naming_the_port(core: client.CoreV1Api, ns: str, kind: str) -> None:
    """Port allocator: a requested nodePort another Service holds → 422 provided port is already allocated."""
    first = core.create_namespaced_service(ns, service("one", type=kind))
    port = first.spec.ports[0].node_port
    body = service("two", type=kind)
    body["spec"]["ports"][0]["nodePort"] = port
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_service(ns, body)
    assert exc.value.status == 422
    status = json.loads(exc.value.body)
    assert status["reason"] == "Invalid"
    expected = f"spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated"
    assert status["message"] == f'Service "two" is invalid: {expected}'


def test_allocated_node_port_is_owned_by_no_manager(core: client.CoreV1Api, ns: str) -> None:
    """The allocator runs after the field manager: the client's entry has the port but not its nodePort."""
    created = core.create_namespaced_service(ns, service("auto", type="NodePort"), field_manager="dr-syncer")
    assert created.spec.ports[0].node_port
    assert _node_port_owners(created) == []
    assert [e.manager for e in created.metadata.managed_fields] == ["dr-syncer"]


def test_chosen_node_port_is_owned_by_the_client(core: client.CoreV1Api, ns: str) -> None:
    """A nodePort the client sent is in the client's managedFields entry (a user-chosen port)."""
    probe = core.create_namespaced_service(ns, service("probe", type="NodePort"))
    chosen = probe.spec.ports[0].node_port
    core.delete_namespaced_service("probe", ns)
    body = service("chosen", type="NodePort")
    body["spec"]["ports"][0]["nodePort"] = chosen
    created = core.create_namespaced_service(ns, body, field_manager="dr-syncer")
    assert created.spec.ports[0].node_port == chosen
    assert _node_port_owners(created) == ["dr-syncer"]


def test_apply_without_node_port_keeps_the_allocated_one(core: client.CoreV1Api, ns: str) -> None:
    """patchAllocatedValues: an update leaving nodePort out keeps the port allocated before (by name)."""
    body = service("web", type="NodePort")
    body["spec"]["ports"][0]["name"] = "http"
    first = core.patch_namespaced_service(
        "web", ns, body, field_manager="dr-syncer", _content_type="application/apply-patch+yaml"
    )
    port = first.spec.ports[0].node_port
    body["metadata"]["labels"] = {"tier": "front"}
    second = core.patch_namespaced_service(
        "web", ns, body, field_manager="dr-syncer", _content_type="application/apply-patch+yaml"
    )
    assert second.spec.ports[0].node_port == port
    assert _node_port_owners(second) == []


def test_replace_without_node_port_keeps_the_allocated_one(core: client.CoreV1Api, ns: str) -> None:
    """patchAllocatedValues: a PUT whose port has no nodePort gets the old port of the same name back."""
    body = service("web", type="NodePort")
    body["spec"]["ports"][0]["name"] = "http"
    port = core.create_namespaced_service(ns, body).spec.ports[0].node_port
    current = core.read_namespaced_service("web", ns).to_dict()
    current["spec"]["ports"][0]["node_port"] = None
    replaced = core.replace_namespaced_service("web", ns, current)
    assert replaced.spec.ports[0].node_port == port
