"""Discovery advertises each resource's real verbs, and the server refuses the others.

Upstream behaviour reproduced: ``/api/v1`` lists ``componentstatuses`` with verbs ``get, list`` (read-only)
and ``bindings`` with ``create`` only; a request with a verb the resource does not support is ``405
MethodNotAllowed`` ("the server does not allow this method on the requested resource"). Aggregated
read-only resources (OLM ``packagemanifests``) behave the same way.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Raw


def _verbs(raw: Raw, path: str, name: str) -> list[str]:
    _, body, _ = raw("GET", path)
    return sorted(next(r for r in body["resources"] if r["name"] == name)["verbs"])


def test_read_only_and_create_only_core_resources_advertise_their_verbs(raw: Raw) -> None:
    assert _verbs(raw, "/api/v1", "componentstatuses") == ["get", "list"]
    assert _verbs(raw, "/api/v1", "bindings") == ["create"]


def test_a_verb_a_resource_does_not_support_is_405(raw: Raw, ns: str) -> None:
    status, body, _ = raw("POST", "/api/v1/componentstatuses", {"metadata": {"name": "x"}})
    assert status == 405
    assert body["reason"] == "MethodNotAllowed"
    assert body["message"] == "the server does not allow this method on the requested resource"

    assert raw("GET", f"/api/v1/namespaces/{ns}/bindings")[0] == 405
    assert raw("GET", "/api/v1/componentstatuses")[0] == 200


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster("verbs") as sandbox:
        yield sandbox


def test_an_aggregated_read_only_resource_refuses_writes(cluster: FakeCluster) -> None:
    cluster.aggregated.add(
        "packages.operators.coreos.com",
        "v1",
        [("PackageManifest", "packagemanifests", True, ("get", "list"))],
        available=True,
    )
    parts = urlsplit(cluster.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        body = {
            "apiVersion": "packages.operators.coreos.com/v1",
            "kind": "PackageManifest",
            "metadata": {"name": "p"},
        }
        connection.request(
            "POST",
            "/apis/packages.operators.coreos.com/v1/namespaces/default/packagemanifests",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()

    assert response.status == 405
