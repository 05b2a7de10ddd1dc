"""Aggregated APIs (kube-aggregator): a group behind an APIService whose backend is down or slow.

Upstream behaviour reproduced (kube-aggregator ``pkg/apiserver/handler_proxy.go``): ``/apis`` advertises
every registered APIService group whether or not its backend answers; while the backend is unavailable,
every request under ``/apis/<group>/<version>`` — discovery document and resources alike — gets ``503``
with the plain-text body ``service unavailable`` (``http.Error``, not a ``Status`` object), and the
APIService reports ``Available=False`` (``FailedDiscoveryCheck``). Built-in groups have *Local*
APIServices (``spec.service: null``). Clients see the 503 through the official client as an
``ApiException`` with status 503 (kubectl prints "the server is currently unable to handle the request").
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster

METRICS = "custom.metrics.k8s.io"


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster("aggregated") as sandbox:
        yield sandbox


@pytest.fixture
def api(cluster: FakeCluster) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    configuration.host = cluster.url
    with client.ApiClient(configuration) as api_client:
        yield api_client


def _raw(api: client.ApiClient, path: str) -> tuple[int, str, str]:
    try:
        response = api.call_api(
            "GET", api.configuration.host + path, header_params={"Accept": "application/json"}
        )
        response.read()
    except ApiException as error:
        return (
            error.status,
            (error.body or b"").decode() if isinstance(error.body, bytes) else str(error.body),
            (error.headers or {}).get("Content-Type", ""),
        )
    return response.status, response.data.decode(), response.headers.get("Content-Type", "")


def test_apis_advertises_an_unavailable_group_but_its_discovery_and_resources_answer_503_in_plain_text(
    cluster: FakeCluster, api: client.ApiClient
) -> None:
    cluster.aggregated.add(METRICS, "v1beta1", [("MetricValueList", "pods", True, ("get", "list"))])

    groups = client.ApisApi(api).get_api_versions().groups
    assert METRICS in [group.name for group in groups]
    for path in (
        f"/apis/{METRICS}/v1beta1",
        f"/apis/{METRICS}/v1beta1/namespaces/default/pods/*/http_requests",
    ):
        status, body, content_type = _raw(api, path)
        assert (status, body) == (503, "service unavailable\n")
        assert content_type.startswith("text/plain")


def test_the_unavailable_group_has_an_apiservice_that_is_not_available(
    cluster: FakeCluster, api: client.ApiClient
) -> None:
    cluster.aggregated.add(METRICS, "v1beta1", [("MetricValueList", "pods", True, ("get", "list"))])

    registration = client.ApiregistrationV1Api(api).read_api_service(f"v1beta1.{METRICS}")

    assert registration.spec.service.namespace == "kube-system"
    available = next(c for c in registration.status.conditions if c.type == "Available")
    assert (available.status, available.reason) == ("False", "FailedDiscoveryCheck")


def test_built_in_groups_have_local_apiservices(api: client.ApiClient) -> None:
    registration = client.ApiregistrationV1Api(api).read_api_service("v1.apps")

    assert registration.spec.service is None
    available = next(c for c in registration.status.conditions if c.type == "Available")
    assert (available.status, available.reason) == ("True", "Local")


def test_an_available_aggregated_group_advertises_its_real_verbs(
    cluster: FakeCluster, api: client.ApiClient
) -> None:
    cluster.aggregated.add(
        "packages.operators.coreos.com",
        "v1",
        [("PackageManifest", "packagemanifests", True, ("get", "list"))],
        available=True,
    )

    resources = (
        client.CustomObjectsApi(api).get_api_resources("packages.operators.coreos.com", "v1").resources
    )

    assert [(r.name, r.verbs) for r in resources] == [("packagemanifests", ["get", "list"])]


def test_a_slow_group_answers_after_its_latency(cluster: FakeCluster, api: client.ApiClient) -> None:
    cluster.aggregated.add(
        "slow.example.com", "v1", [("Thing", "things", True, ("get", "list"))], available=True, latency=0.3
    )

    started = time.monotonic()
    status, _, _ = _raw(api, "/apis/slow.example.com/v1")

    assert status == 200
    assert time.monotonic() - started >= 0.3


def test_reset_forgets_aggregated_groups(cluster: FakeCluster, api: client.ApiClient) -> None:
    cluster.aggregated.add(METRICS, "v1beta1", [("MetricValueList", "pods", True, ("get", "list"))])

    cluster.reset()

    assert METRICS not in [group.name for group in client.ApisApi(api).get_api_versions().groups]
    assert _raw(api, f"/apis/{METRICS}/v1beta1")[0] == 404
