"""Per-cluster Kubernetes versions: served API versions, one stored object in every version, and
deprecation warnings.

Upstream behaviour reproduced: a 1.24 API server still serves ``batch/v1beta1`` CronJob,
``policy/v1beta1`` PodDisruptionBudget and ``autoscaling/v2beta2`` HorizontalPodAutoscaler (removed in
1.25 / 1.25 / 1.26, deprecated-API migration guide); an object is stored once and served in every served
version, converted through the internal form (``apiVersion`` follows the request); requests to a
deprecated version get ``Warning: 299 - "..."`` with the text of ``k8s.io/apiserver/pkg/endpoints/
deprecation`` (built-ins) or the CRD version's ``deprecationWarning`` (default ``<group>/<version> <Kind>
is deprecated``). A CRD served at two versions with ``conversion: None`` differs only in ``apiVersion``.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client

from drsyncer.sandbox import FakeCluster
from tests.sandbox.factories import crd

CRONJOB_SPEC = {
    "schedule": "*/5 * * * *",
    "jobTemplate": {
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    },
}


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster("versions") as sandbox:
        yield sandbox


def _request(
    cluster: FakeCluster, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    parts = urlsplit(cluster.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"null")
    finally:
        connection.close()


def _group_versions(cluster: FakeCluster, group: str) -> list[str]:
    _, _, document = _request(cluster, "GET", f"/apis/{group}")
    return [entry["version"] for entry in document["versions"]]


def test_a_1_24_cluster_serves_the_beta_versions_a_1_31_cluster_does_not(cluster: FakeCluster) -> None:
    assert _group_versions(cluster, "batch") == ["v1"]

    cluster.versions.set("1.24")

    assert _request(cluster, "GET", "/version")[2]["gitVersion"] == "v1.24.0-sandbox"
    assert _group_versions(cluster, "batch") == ["v1", "v1beta1"]
    assert _group_versions(cluster, "policy") == ["v1", "v1beta1"]
    assert _group_versions(cluster, "autoscaling") == ["v2", "v1", "v2beta2"]

    cluster.versions.set("1.25")

    assert _group_versions(cluster, "batch") == ["v1"]
    assert _group_versions(cluster, "autoscaling") == ["v2", "v1", "v2beta2"]
    assert _request(cluster, "GET", "/apis/batch/v1beta1/namespaces/default/cronjobs")[0] == 404


def test_an_object_created_at_a_beta_version_is_served_at_every_version_with_a_deprecation_warning(
    cluster: FakeCluster,
) -> None:
    cluster.versions.set("1.24")
    body = {
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": CRONJOB_SPEC,
    }

    status, headers, _ = _request(cluster, "POST", "/apis/batch/v1beta1/namespaces/default/cronjobs", body)

    assert status == 201
    assert headers["Warning"] == (
        '299 - "batch/v1beta1 CronJob is deprecated in v1.21+, unavailable in v1.25+; use batch/v1 CronJob"'
    )
    status, headers, stored = _request(cluster, "GET", "/apis/batch/v1/namespaces/default/cronjobs/nightly")
    assert status == 200
    assert "Warning" not in headers
    assert stored["apiVersion"] == "batch/v1"
    assert stored["spec"]["schedule"] == "*/5 * * * *"


def test_a_crd_version_marked_deprecated_warns_with_its_text(cluster: FakeCluster) -> None:
    definition = crd("gadgets", "Gadget", "versions.dr-syncer.io")
    definition["spec"]["versions"][1]["deprecated"] = True
    cluster.create(definition)

    _, old, _ = _request(cluster, "GET", "/apis/versions.dr-syncer.io/v1beta1/namespaces/default/gadgets")
    _, new, _ = _request(cluster, "GET", "/apis/versions.dr-syncer.io/v1/namespaces/default/gadgets")

    assert old["Warning"] == '299 - "versions.dr-syncer.io/v1beta1 Gadget is deprecated"'
    assert "Warning" not in new


def test_a_crd_with_conversion_none_serves_one_object_at_both_versions_differing_only_in_api_version(
    cluster: FakeCluster,
) -> None:
    cluster.create(crd("gadgets", "Gadget", "versions.dr-syncer.io"))
    gadget = {
        "apiVersion": "versions.dr-syncer.io/v1beta1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"size": 2},
    }
    with client.ApiClient(_configuration(cluster)) as api:
        objects = client.CustomObjectsApi(api)
        objects.create_namespaced_custom_object(
            "versions.dr-syncer.io", "v1beta1", "default", "gadgets", gadget
        )

        read = objects.get_namespaced_custom_object("versions.dr-syncer.io", "v1", "default", "gadgets", "g")

    assert read["apiVersion"] == "versions.dr-syncer.io/v1"
    assert read["spec"] == {"size": 2}


def test_reset_restores_the_default_version(cluster: FakeCluster) -> None:
    cluster.versions.set("1.24")

    cluster.reset()

    assert _request(cluster, "GET", "/version")[2]["minor"] == "31"
    assert _group_versions(cluster, "batch") == ["v1"]


def test_an_unsupported_version_is_refused_with_the_range() -> None:
    with FakeCluster("too-old") as cluster, pytest.raises(ValueError, match=r"expected 1\.23 or later"):
        cluster.versions.set("1.19")


def _configuration(cluster: FakeCluster) -> client.Configuration:
    configuration = client.Configuration()
    configuration.host = cluster.url
    return configuration
