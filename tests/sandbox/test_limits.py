"""Size limits and compaction between list pages, as a real API server and etcd enforce them.

Upstream behaviour reproduced:

- kube-apiserver reads at most 3 MiB of a request body (``MaxRequestBodyBytes``; ``limitedReadBody`` in
  ``k8s.io/apiserver/pkg/endpoints/handlers/rest.go``): ``413 RequestEntityTooLarge``, message
  ``Request entity too large: limit is 3145728``.
- etcd refuses a value over ``--max-request-bytes`` (1.5 MiB by default) with ``etcdserver: request is too
  large``, which the API server passes through as a ``500`` (``ErrorToAPIStatus``: not an APIStatus).
- A continue token older than the last etcd compaction is ``410 Expired`` (the sandbox's compaction, here
  triggered between two pages by a fault rule).
"""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster


def _config_map(name: str, size: int) -> dict[str, object]:
    return {"metadata": {"name": name}, "data": {"blob": "x" * size}}


def test_a_request_body_over_3_mib_is_413_request_entity_too_large(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map(ns, _config_map("huge", 3_300_000))

    assert refused.value.status == 413
    body = json.loads(refused.value.body)
    assert body["reason"] == "RequestEntityTooLarge"
    assert body["message"] == "Request entity too large: limit is 3145728"


def test_an_object_over_etcds_1_5_mib_is_a_500_request_is_too_large(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map(ns, _config_map("big", 2_000_000))

    assert refused.value.status == 500
    assert json.loads(refused.value.body)["message"] == "etcdserver: request is too large"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("big", ns)
    assert missing.value.status == 404


def test_an_object_under_the_limits_is_stored(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, _config_map("fits", 1_000_000))

    assert len(core.read_namespaced_config_map("fits", ns).data["blob"]) == 1_000_000


def test_the_limits_are_settable_per_cluster_and_reset_restores_them(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    sandbox.limits.object_bytes = 5_000
    try:
        with pytest.raises(ApiException) as refused:
            core.create_namespaced_config_map(ns, _config_map("small-limit", 6_000))
        assert refused.value.status == 500
    finally:
        sandbox.limits.reset()

    core.create_namespaced_config_map(ns, _config_map("small-limit", 6_000))


def test_a_compaction_between_two_pages_expires_the_continue_token(
    core: client.CoreV1Api, ns: str, sandbox: FakeCluster
) -> None:
    for index in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"c{index}"}})
    first = core.list_namespaced_config_map(ns, limit=2)
    rule = sandbox.faults.add(
        method="GET", path_regex=f"/namespaces/{ns}/configmaps$", query_regex="continue=", compact=True
    )

    with pytest.raises(ApiException) as expired:
        core.list_namespaced_config_map(ns, limit=2, _continue=first.metadata._continue)

    assert rule.hits == 1
    assert expired.value.status == 410
    assert json.loads(expired.value.body)["reason"] == "Expired"
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == [
        "c0",
        "c1",
        "c2",
        "kube-root-ca.crt",
    ]
