"""A new CRD is not served at once: its kinds appear when it becomes Established.

Upstream behaviour reproduced (apiextensions-apiserver ``EstablishingController``): a created
CustomResourceDefinition first gets ``NamesAccepted``; ``Established`` follows asynchronously, and only
then does the API server serve the new kind — clients that create a CRD must wait for ``Established``
before they create custom resources (``kubectl wait --for condition=established``). The sandbox makes the
wait observable with ``cluster.lifecycle.establish_delay`` (0 by default: at once).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster
from tests.sandbox.factories import crd, eventually

GROUP = "delayed.dr-syncer.io"


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster("establishing") as sandbox:
        yield sandbox


@pytest.fixture
def api(cluster: FakeCluster) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    configuration.host = cluster.url
    with client.ApiClient(configuration) as api_client:
        yield api_client


def _established(api: client.ApiClient, name: str) -> bool:
    definition = client.ApiextensionsV1Api(api).read_custom_resource_definition(name)
    conditions = (definition.status and definition.status.conditions) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def test_a_crd_is_served_only_once_established_after_the_configured_delay(
    cluster: FakeCluster, api: client.ApiClient
) -> None:
    cluster.lifecycle.establish_delay = 0.5
    started = time.monotonic()
    client.ApiextensionsV1Api(api).create_custom_resource_definition(crd("gadgets", "Gadget", GROUP))
    objects = client.CustomObjectsApi(api)

    assert not _established(api, f"gadgets.{GROUP}")
    with pytest.raises(ApiException) as refused:
        objects.list_namespaced_custom_object(GROUP, "v1", "default", "gadgets")
    assert refused.value.status == 404

    eventually(lambda: _established(api, f"gadgets.{GROUP}"), timeout=5)
    assert time.monotonic() - started >= 0.5
    assert objects.list_namespaced_custom_object(GROUP, "v1", "default", "gadgets")["items"] == []


def test_without_a_delay_a_crd_is_established_at_once(api: client.ApiClient) -> None:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(crd("gizmos", "Gizmo", GROUP))

    assert _established(api, f"gizmos.{GROUP}")


def test_reset_restores_the_immediate_default(cluster: FakeCluster) -> None:
    cluster.lifecycle.establish_delay = 3.0

    cluster.reset()

    assert cluster.lifecycle.establish_delay == 0.0
