"""Lists and size limits on real-world clusters, through the real flow: a continue token compacted away
between two pages, page sizes per kind, and objects over the API server's size limits."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.client.schemas.objects import State

from flows.namespace_sync import namespace_sync
from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.factories import make_configmap, make_deployment, make_secret

pytestmark = pytest.mark.usefixtures("prefect_server")


def _run(world: SyncWorld) -> tuple[State, dict[str, Any]]:
    world.mapping()
    state = namespace_sync(mapping=MAPPING, config=[str(world.config_path)], return_state=True)
    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    return state, report


def _many_config_maps(world: SyncWorld, count: int) -> None:
    world.seed(*(make_configmap(f"settings-{n:03}", server_fields=False) for n in range(count)))


def test_a_continue_token_expired_between_pages_restarts_the_list_once(sync_world: SyncWorld) -> None:
    _many_config_maps(sync_world, 130)  # two pages of ConfigMaps (100 a page)
    sync_world.configure(resourceTypes=["configmaps"])
    compaction = sync_world.source.faults.add(
        method="GET", path_regex="/configmaps$", query_regex="continue=", compact=True
    )

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert compaction.hits == 1
    assert report["counts"]["created"] == 131  # the namespace and 130 ConfigMaps
    assert len(sync_world.dr.objects("v1", "ConfigMap", sync_world.destination_namespace)) == 131
    pages = sync_world.source.audit.requests(
        method="GET", path_regex=f"/namespaces/{sync_world.namespace}/configmaps$"
    )
    assert [(entry.status, "continue" in entry.query) for entry in pages] == [
        (200, False),
        (410, True),
        (200, False),
        (200, True),
    ]


def test_a_second_expired_continue_token_fails_the_sync_clearly(sync_world: SyncWorld) -> None:
    _many_config_maps(sync_world, 130)
    sync_world.configure(resourceTypes=["configmaps"])
    sync_world.source.faults.add(
        method="GET", path_regex="/configmaps$", query_regex="continue=", compact=True, times=2
    )

    state, report = _run(sync_world)

    assert state.is_failed()
    assert report["error"].startswith(
        f"cluster 'source': list /api/v1/namespaces/{sync_world.namespace}/configmaps: the continue token "
        "expired twice (410 Expired)"
    )
    assert sync_world.dr.get("v1", "ConfigMap", "settings-000", sync_world.destination_namespace) is None


def test_secrets_and_config_maps_are_listed_in_smaller_pages_than_other_kinds(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_secret("credentials", server_fields=False), make_deployment("web", server_fields=False)
    )
    sync_world.configure(resourceTypes=["secrets", "configmaps", "deployments"])

    state, report = _run(sync_world)

    assert state.is_completed(), report
    limits = {
        entry.path.rsplit("/", 1)[-1]: entry.query.get("limit")
        for entry in sync_world.source.audit.requests(
            method="GET", path_regex=f"/namespaces/{sync_world.namespace}/[a-z]+$"
        )
    }
    assert limits == {"secrets": "50", "configmaps": "100", "deployments": "500"}


def test_an_object_over_the_dr_clusters_size_limit_fails_alone_stating_its_size(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(
        make_configmap("big", data={"blob": "x" * 1_200_000}, server_fields=False),
        make_configmap("small", server_fields=False),
    )
    sync_world.configure(resourceTypes=["configmaps"])
    sync_world.dr.limits.object_bytes = 1_000_000  # a DR etcd with a smaller --max-request-bytes

    state, report = _run(sync_world)

    assert state.is_failed()
    failed = {o["name"]: o["error"] for o in report["objects"] if o["status"] == "failed"}
    assert list(failed) == ["big"]
    assert failed["big"].startswith("the object is 12001")
    assert (
        "bytes (1.1 MiB), over the size limit of cluster 'dr' (500: etcdserver: request is too large)"
        in failed["big"]
    )
    assert sync_world.dr_get("v1", "ConfigMap", "small") is not None
    refused = sync_world.dr.audit.requests(method="PATCH", path_regex="/configmaps/big$")
    assert [entry.status for entry in refused] == [500]  # not retried: the same body fails again


def test_a_request_body_over_the_limit_is_a_413_failure_stating_the_size(sync_world: SyncWorld) -> None:
    sync_world.seed(make_configmap("big", data={"blob": "x" * 600_000}, server_fields=False))
    sync_world.configure(resourceTypes=["configmaps"])
    sync_world.dr.limits.body_bytes = 500_000

    state, report = _run(sync_world)

    assert state.is_failed()
    (failure,) = [o["error"] for o in report["objects"] if o["status"] == "failed"]
    assert failure.startswith("the object is 600")
    assert "(413: Request entity too large: limit is 500000)" in failure


def test_a_saturated_dr_api_server_is_waited_for_as_its_retry_after_says(sync_world: SyncWorld) -> None:
    _many_config_maps(sync_world, 12)
    sync_world.configure(resourceTypes=["configmaps"])
    sync_world.dr.priority.configure(seats=2, hold=0.05)  # API priority and fairness: 2 seats

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["counts"]["created"] == 13
    writes = sync_world.dr.audit.requests(method="PATCH", path_regex="/configmaps/")
    rejected = [entry for entry in writes if entry.status == 429]
    assert rejected, "the DR API server never ran out of seats"
    for refusal in rejected:
        retry = next(e for e in writes if e.path == refusal.path and e.timestamp > refusal.timestamp)
        assert retry.timestamp - refusal.timestamp >= 0.95  # Retry-After: 1
