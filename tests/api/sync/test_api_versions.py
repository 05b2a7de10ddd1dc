"""Version skew between the source and DR, through the real flow: each kind is read at a version both
clusters serve, a kind with no common version fails naming both clusters' versions, and the API servers'
deprecation warnings reach the report."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from prefect.client.schemas.objects import State

from drsyncer.objects import KubeObject
from flows.namespace_sync import namespace_sync
from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.factories import make_cronjob
from tests.sandbox.factories import crd

pytestmark = pytest.mark.usefixtures("prefect_server")

GROUP = "skew.dr-syncer.io"


def _run(world: SyncWorld) -> tuple[State, dict[str, Any]]:
    world.mapping()
    state = namespace_sync(mapping=MAPPING, config=[str(world.config_path)], return_state=True)
    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    return state, report


def _widgets(*versions: str, deprecated: tuple[str, ...] = ()) -> KubeObject:
    """The Widget CRD served at ``versions`` (the first is the storage version), conversion None."""
    definition = crd("widgets", "Widget", GROUP)
    template = copy.deepcopy(definition["spec"]["versions"][0])
    definition["spec"]["versions"] = [
        {
            **template,
            "name": name,
            "storage": index == 0,
            **({"deprecated": True} if name in deprecated else {}),
        }
        for index, name in enumerate(versions)
    ]
    return definition


def _widget(version: str, namespace: str) -> KubeObject:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "Widget",
        "metadata": {"name": "blue", "namespace": namespace},
        "spec": {"size": 3},
    }


def test_a_kind_is_read_at_drs_version_when_the_source_serves_it_and_a_rerun_writes_nothing(
    sync_world: SyncWorld,
) -> None:
    sync_world.source.create(_widgets("v1", "v1beta1"))  # the source upgraded the CRD to v1
    sync_world.dr.create(_widgets("v1beta1"))  # DR still serves only v1beta1
    sync_world.source.create(_widget("v1", sync_world.namespace))
    sync_world.configure(resourceTypes=["configmaps"], namespaceScopedResources=[f"widgets.{GROUP}"])

    state, report = _run(sync_world)

    assert state.is_completed(), report
    lists = {
        e.path
        for e in sync_world.source.audit.requests(method="GET", path_regex=f"/apis/{GROUP}/.*/widgets$")
    }
    assert lists == {f"/apis/{GROUP}/v1beta1/namespaces/{sync_world.namespace}/widgets"}
    copied = sync_world.dr.get(f"{GROUP}/v1beta1", "Widget", "blue", sync_world.destination_namespace)
    assert copied is not None
    assert copied["spec"] == {"size": 3}
    writes = sync_world.dr.audit.mutations(path_regex="/widgets/")
    assert [entry.path for entry in writes] == [
        f"/apis/{GROUP}/v1beta1/namespaces/{sync_world.destination_namespace}/widgets/blue"
    ]

    sync_world.dr.audit.clear()
    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert sync_world.dr.audit.mutations() == []


def test_a_kind_with_no_common_version_fails_naming_both_clusters_versions(sync_world: SyncWorld) -> None:
    sync_world.source.create(_widgets("v2"))
    sync_world.dr.create(_widgets("v1", "v1beta1"))
    sync_world.source.create(_widget("v2", sync_world.namespace))
    sync_world.configure(resourceTypes=["configmaps"], namespaceScopedResources=[f"widgets.{GROUP}"])

    state, report = _run(sync_world)

    assert state.is_failed()
    (failure,) = [o for o in report["objects"] if o["status"] == "failed"]
    assert (failure["kind"], failure["name"]) == ("Widget", "*")
    assert failure["error"] == (
        f"no common version of widgets.{GROUP}: cluster 'source' serves v2, cluster 'dr' serves v1, v1beta1"
    )
    assert sync_world.dr.audit.mutations(path_regex="/widgets") == []


def test_deprecation_warnings_of_both_api_servers_reach_the_report(sync_world: SyncWorld) -> None:
    sync_world.source.create(_widgets("v1beta1", deprecated=("v1beta1",)))
    sync_world.dr.create(_widgets("v1beta1", deprecated=("v1beta1",)))
    sync_world.source.create(_widget("v1beta1", sync_world.namespace))
    sync_world.configure(resourceTypes=["configmaps"], namespaceScopedResources=[f"widgets.{GROUP}"])

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["warnings"] == [
        f"cluster 'source': {GROUP}/v1beta1 Widget is deprecated",
        f"cluster 'dr': {GROUP}/v1beta1 Widget is deprecated",
    ]


def test_built_in_kinds_between_kubernetes_versions_use_drs_preferred_version(sync_world: SyncWorld) -> None:
    sync_world.source.versions.set("1.24")  # serves batch/v1beta1 CronJobs too, DR (1.31) does not
    sync_world.seed(make_cronjob("nightly", server_fields=False))
    sync_world.configure(resourceTypes=["cronjobs"])

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert sync_world.dr_get("batch/v1", "CronJob", "nightly") is not None
    assert sync_world.source.audit.requests(path_regex="/apis/batch/v1beta1/namespaces/") == []
    assert report["warnings"] == []
