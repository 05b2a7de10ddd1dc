"""Which source objects reach DR: resourceTypes (explicit and wildcard), the ignore label, excludeResources,
labelSelector, and the kinds that are never synced."""

from __future__ import annotations

from drsyncer.labels import IGNORE
from tests.api.sync.conftest import SyncWorld, outcome_of
from tests.factories import make_configmap, make_deployment, make_secret, make_service


def _seed_mixed(world: SyncWorld) -> None:
    world.seed(
        make_configmap("settings", labels={"tier": "web"}, server_fields=False),
        make_secret("credentials", labels={"tier": "db"}, server_fields=False),
        make_deployment("web", labels={"tier": "web"}, server_fields=False),
        make_service("web", cluster_ip=None, server_fields=False),
    )


def test_explicit_resource_types_sync_only_those_kinds(sync_world: SyncWorld) -> None:
    _seed_mixed(sync_world)
    sync_world.configure(resourceTypes=["configmaps", "Deployment"])

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
    assert sync_world.dr_get("apps/v1", "Deployment", "web") is not None
    assert sync_world.dr_get("v1", "Secret", "credentials") is None
    assert sync_world.dr_get("v1", "Service", "web") is None


def test_wildcard_resource_types_sync_every_default_kind(sync_world: SyncWorld) -> None:
    _seed_mixed(sync_world)
    sync_world.configure(resourceTypes=["*"])

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    for api_version, kind, name in [
        ("v1", "ConfigMap", "settings"),
        ("v1", "Secret", "credentials"),
        ("apps/v1", "Deployment", "web"),
        ("v1", "Service", "web"),
    ]:
        assert sync_world.dr_get(api_version, kind, name) is not None, kind


def test_ignore_label_keeps_an_object_out_of_dr(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_configmap("kept", server_fields=False),
        make_configmap("ignored", labels={IGNORE: "true"}, server_fields=False),
    )

    report = sync_world.sync()

    assert sync_world.dr_get("v1", "ConfigMap", "kept") is not None
    assert sync_world.dr_get("v1", "ConfigMap", "ignored") is None
    assert outcome_of(report, "ConfigMap", "ignored").status == "skipped"


def test_exclude_resources_skips_the_named_objects_only(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_configmap("kept", server_fields=False), make_configmap("excluded", server_fields=False)
    )
    sync_world.configure(excludeResources=[{"kind": "ConfigMap", "name": "excluded"}])

    report = sync_world.sync()

    assert sync_world.dr_get("v1", "ConfigMap", "kept") is not None
    assert sync_world.dr_get("v1", "ConfigMap", "excluded") is None
    assert outcome_of(report, "ConfigMap", "excluded").status == "skipped"


def test_label_selector_syncs_only_matching_objects(sync_world: SyncWorld) -> None:
    _seed_mixed(sync_world)
    sync_world.configure(labelSelector={"matchLabels": {"tier": "web"}})

    sync_world.sync()

    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
    assert sync_world.dr_get("apps/v1", "Deployment", "web") is not None
    assert sync_world.dr_get("v1", "Secret", "credentials") is None


def test_label_selector_match_expressions_are_honoured(sync_world: SyncWorld) -> None:
    _seed_mixed(sync_world)
    sync_world.configure(
        labelSelector={"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}
    )

    sync_world.sync()

    assert sync_world.dr_get("v1", "Secret", "credentials") is not None
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is None


def test_pods_replicasets_and_the_root_ca_configmap_are_never_synced(sync_world: SyncWorld) -> None:
    sync_world.seed(make_deployment("web", replicas=1, server_fields=False))
    sync_world.source.settle()
    assert sync_world.source.objects("v1", "Pod", sync_world.namespace), "sandbox should have started a pod"

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert sync_world.dr.objects("v1", "Pod", sync_world.destination_namespace) == []
    assert sync_world.dr.objects("apps/v1", "ReplicaSet", sync_world.destination_namespace) == []
    root_ca = sync_world.dr_get("v1", "ConfigMap", "kube-root-ca.crt")
    assert root_ca is None or not any(
        entry.get("manager") == "dr-syncer" for entry in root_ca["metadata"].get("managedFields") or []
    )
