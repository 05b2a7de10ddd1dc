"""Discovery on real-world clusters, through the real flow: an aggregated API that is down or slow, what
``namespaceScopedResources: ["*"]`` expands to, and ``syncCRDs``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from prefect.client.schemas.objects import State

from drsyncer.kube.client import KubeClient
from drsyncer.kube.connect import connect_cluster
from drsyncer.kube.discovery import Discovery
from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from flows.namespace_sync import namespace_sync
from tasks.apply.crds import EstablishedWait
from tasks.session import open_session, prepare_kinds
from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.factories import make_configmap
from tests.sandbox.factories import crd

pytestmark = pytest.mark.usefixtures("prefect_server")

METRICS = "custom.metrics.k8s.io"
OLM = "packages.operators.coreos.com"
GROUP = "example.dr-syncer.io"
FULL_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")


def _run(world: SyncWorld, *, plan_only: bool = False) -> tuple[State, dict[str, Any]]:
    world.mapping()
    state = namespace_sync(
        mapping=MAPPING, config=[str(world.config_path)], plan_only=plan_only, return_state=True
    )
    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    return state, report


def _kind_lines(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in report["objects"] if o["name"] == "*"}


def _widget(name: str, namespace: str) -> KubeObject:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": 3},
    }


def _install_widgets(cluster: FakeCluster) -> None:
    cluster.create(crd("widgets", "Widget", GROUP))


def _unavailable_metrics(cluster: FakeCluster) -> None:
    cluster.aggregated.add(METRICS, "v1beta1", [("MetricValueList", "pods", True, ("get", "list"))])


def _olm(cluster: FakeCluster, *, available: bool = True) -> None:
    cluster.aggregated.add(
        OLM, "v1", [("PackageManifest", "packagemanifests", True, ("get", "list"))], available=available
    )


# --- 1. discovery failures are warnings --------------------------------------------------------


def test_an_unavailable_aggregated_group_is_a_warning_and_the_sync_succeeds(sync_world: SyncWorld) -> None:
    sync_world.seed(make_configmap("settings", server_fields=False))
    _olm(sync_world.source, available=False)
    sync_world.configure(namespaceScopedResources=["*"], wildcardConfig={"includeAggregatedAPIs": True})

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["phase"] == "Completed"
    assert report["counts"]["failed"] == 0
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
    assert report["warnings"] == [
        f"cluster 'source': API group {OLM}/v1 was left out: its discovery failed (503 after 2 attempts: "
        "service unavailable)"
    ]


def test_a_kind_listed_by_name_in_an_unavailable_group_fails_alone_with_the_reason(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(make_configmap("settings", server_fields=False))
    _olm(sync_world.source, available=False)
    sync_world.configure(namespaceScopedResources=[f"packagemanifests.{OLM}"])

    state, report = _run(sync_world)

    assert state.is_failed()
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
    failed = [o for o in report["objects"] if o["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["name"] == "*"
    assert f"discovery of API group {OLM}/v1 failed: 503" in failed[0]["error"]
    assert "service unavailable" in failed[0]["error"]


def test_a_slow_group_costs_the_discovery_timeout_and_becomes_a_failure_reason(
    source_cluster: FakeCluster, sync_world: SyncWorld
) -> None:
    source_cluster.aggregated.add(
        "slow.example.com", "v1", [("Thing", "things", True, FULL_VERBS)], available=True, latency=1.0
    )
    client: KubeClient = connect_cluster(sync_world.mapping().source)
    try:
        discovery = Discovery(client, group_timeout=0.3)
        started = time.monotonic()
        assert discovery.resources("slow.example.com") == []
        elapsed = time.monotonic() - started
    finally:
        client.close()

    assert discovery.failures == {"slow.example.com/v1": "no answer within 0.3 s"}
    assert elapsed < 3.0


# --- 2. what "*" expands to ---------------------------------------------------------------------


def test_wildcard_copies_local_custom_resources_and_skips_aggregated_read_only_and_excluded_groups(
    sync_world: SyncWorld,
) -> None:
    for cluster in (sync_world.source, sync_world.dr):
        _install_widgets(cluster)
    sync_world.source.create(crd("volumesnapshots", "VolumeSnapshot", "snapshot.storage.k8s.io"))
    _unavailable_metrics(sync_world.source)
    _olm(sync_world.source)
    sync_world.source.create(_widget("blue", sync_world.namespace))
    sync_world.configure(resourceTypes=["configmaps"], namespaceScopedResources=["*"])
    sync_world.source.audit.clear()

    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert report["warnings"] == []
    assert sync_world.dr.get(f"{GROUP}/v1", "Widget", "blue", sync_world.destination_namespace) is not None
    kinds = _kind_lines(report)
    assert kinds[OLM]["status"] == "skipped"
    assert "aggregated API" in kinds[OLM]["reason"]
    assert "VolumeSnapshot" not in kinds  # on the documented default list: left out silently
    never_read = [e.path for e in sync_world.source.audit.requests(path_regex=f"/apis/({METRICS}|{OLM})/")]
    assert never_read == []


def test_wildcard_with_aggregated_apis_included_skips_read_only_resources_with_the_reason(
    sync_world: SyncWorld,
) -> None:
    _olm(sync_world.source)
    sync_world.configure(
        resourceTypes=["configmaps"],
        namespaceScopedResources=["*"],
        wildcardConfig={"includeAggregatedAPIs": True},
    )

    state, report = _run(sync_world)

    assert state.is_completed(), report
    line = _kind_lines(report)["PackageManifest"]
    assert line["status"] == "skipped"
    assert line["reason"] == (
        f"packagemanifests.{OLM} does not support create, patch, delete (read-only or virtual)"
    )


def test_an_empty_exclusion_list_copies_volume_snapshots_too(sync_world: SyncWorld) -> None:
    snapshots = crd("volumesnapshots", "VolumeSnapshot", "snapshot.storage.k8s.io")
    for cluster in (sync_world.source, sync_world.dr):
        cluster.create(snapshots)
    sync_world.source.create(
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": "nightly", "namespace": sync_world.namespace},
            "spec": {"source": {"persistentVolumeClaimName": "data"}},
        }
    )
    sync_world.configure(
        resourceTypes=["configmaps"], namespaceScopedResources=["*"], wildcardConfig={"excluded": []}
    )

    state, report = _run(sync_world)

    assert state.is_completed(), report
    copied = sync_world.dr.get(
        "snapshot.storage.k8s.io/v1", "VolumeSnapshot", "nightly", sync_world.destination_namespace
    )
    assert copied is not None


# --- 4. syncCRDs --------------------------------------------------------------------------------


def test_without_sync_crds_a_kind_missing_in_dr_is_one_skip_for_the_kind(sync_world: SyncWorld) -> None:
    _install_widgets(sync_world.source)
    for name in ("a", "b", "c"):
        sync_world.source.create(_widget(name, sync_world.namespace))
    sync_world.configure(resourceTypes=["configmaps"], namespaceScopedResources=[f"widgets.{GROUP}"])

    state, report = _run(sync_world)

    assert state.is_completed(), report
    widgets = [o for o in report["objects"] if o["kind"] == "Widget"]
    assert widgets == [
        {
            "kind": "Widget",
            "name": "*",
            "action": "skip",
            "status": "skipped",
            "error": None,
            "reason": f"CRD widgets.{GROUP} is missing in cluster dr; set syncCRDs or install it",
        }
    ]


def test_sync_crds_copies_the_crd_waits_until_established_then_syncs_the_custom_resources(
    sync_world: SyncWorld,
) -> None:
    _install_widgets(sync_world.source)
    sync_world.source.create(_widget("blue", sync_world.namespace))
    sync_world.dr.lifecycle.establish_delay = 0.5
    sync_world.configure(
        resourceTypes=["configmaps"], namespaceScopedResources=[f"widgets.{GROUP}"], syncCRDs=True
    )

    state, report = _run(sync_world)

    assert state.is_completed(), report
    definition = sync_world.dr.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{GROUP}")
    assert definition is not None
    assert sync_world.dr.get(f"{GROUP}/v1", "Widget", "blue", sync_world.destination_namespace) is not None
    crd_line = next(o for o in report["objects"] if o["kind"] == "CustomResourceDefinition")
    assert crd_line["status"] == "synced"

    sync_world.dr.audit.clear()
    state, report = _run(sync_world)

    assert state.is_completed(), report
    assert [(m.method, m.path) for m in sync_world.dr.audit.mutations()] == []


def test_sync_crds_fails_the_kind_when_the_crd_is_not_established_in_time(sync_world: SyncWorld) -> None:
    _install_widgets(sync_world.source)
    sync_world.source.create(_widget("blue", sync_world.namespace))
    sync_world.dr.lifecycle.establish_delay = 30.0
    sync_world.configure(
        resourceTypes=["configmaps"], namespaceScopedResources=[f"widgets.{GROUP}"], syncCRDs=True
    )
    session = open_session(sync_world.mapping())
    try:
        outcomes = prepare_kinds(session, wait=EstablishedWait(session.destination, timeout=0.3))
    finally:
        session.close()

    assert [(o.kind, o.status, o.error) for o in outcomes] == [
        (
            "CustomResourceDefinition",
            "failed",
            f"CRD widgets.{GROUP} did not become Established in cluster 'dr' within 0.3 s; its custom "
            "resources were not synced",
        )
    ]
    assert [(o.kind, o.status) for o in session.kind_outcomes] == [("Widget", "failed")]
    assert session.resources == [r for r in session.resources if r.kind != "Widget"]


def test_a_listed_kind_whose_group_is_down_in_dr_fails_alone_naming_dr(sync_world: SyncWorld) -> None:
    resources = [("Thing", "things", True, FULL_VERBS)]
    sync_world.source.aggregated.add("things.example.com", "v1", resources, available=True)
    sync_world.dr.aggregated.add("things.example.com", "v1", resources, available=False)
    sync_world.seed(make_configmap("settings", server_fields=False))
    sync_world.configure(resourceTypes=["configmaps"], namespaceScopedResources=["things.things.example.com"])

    state, report = _run(sync_world)

    assert state.is_failed()
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
    (failure,) = [o for o in report["objects"] if o["status"] == "failed"]
    assert failure["kind"] == "Thing"
    assert failure["error"].startswith(
        "cluster 'dr' cannot serve 'things.things.example.com': discovery of API group things.example.com "
        "failed: 503 after 2 attempts: service unavailable"
    )
    assert report["warnings"] == [
        "cluster 'dr': API group things.example.com/v1 was left out: its discovery failed (503 after 2 "
        "attempts: service unavailable)"
    ]
