"""DR copies are faithful: exact labels and annotations, Ingress verbatim, a renamed namespace with the
source's metadata and byte-identical data, removed fields removed."""

from __future__ import annotations

import pytest

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import SyncWorld, unique_namespace
from tests.factories import (
    make_configmap,
    make_ingress,
    make_pvc,
    make_role_binding,
    make_secret,
    make_service,
)

LABELS = {"app.kubernetes.io/name": "shop", "team": "payments"}
ANNOTATIONS = {"example.com/owner": "alice", "note": "multi\nline ünïcode"}


def _user_metadata(obj: KubeObject, key: str) -> dict[str, str]:
    return dict(obj["metadata"].get(key) or {})


@pytest.mark.parametrize(
    ("api_version", "kind", "factory_obj"),
    [
        (
            "v1",
            "ConfigMap",
            make_configmap("it", labels=LABELS, annotations=ANNOTATIONS, server_fields=False),
        ),
        ("v1", "Secret", make_secret("it", labels=LABELS, annotations=ANNOTATIONS, server_fields=False)),
        (
            "v1",
            "Service",
            make_service("it", cluster_ip=None, labels=LABELS, annotations=ANNOTATIONS, server_fields=False),
        ),
        (
            "v1",
            "PersistentVolumeClaim",
            make_pvc("it", volume_name=None, labels=LABELS, annotations=ANNOTATIONS, server_fields=False),
        ),
    ],
)
def test_dr_copy_carries_exactly_the_source_labels_and_annotations(
    sync_world: SyncWorld, api_version: str, kind: str, factory_obj: KubeObject
) -> None:
    sync_world.seed(factory_obj)
    sync_world.source.settle()
    source = sync_world.source_object(api_version, kind, "it")

    report = sync_world.sync()
    sync_world.dr.settle()

    assert report.succeeded, report.failure_summary()
    copy = sync_world.dr_object(api_version, kind, "it")
    source_annotations = {
        k: v
        for k, v in _user_metadata(source, "annotations").items()
        if not k.startswith(("pv.kubernetes.io/", "volume."))
    }
    copy_annotations = {
        k: v
        for k, v in _user_metadata(copy, "annotations").items()
        if not k.startswith(("pv.kubernetes.io/", "volume."))
    }
    assert _user_metadata(copy, "labels") == _user_metadata(source, "labels") == LABELS
    assert copy_annotations == source_annotations == ANNOTATIONS


def test_ingress_spec_labels_and_annotations_are_byte_identical(sync_world: SyncWorld) -> None:
    ingress = make_ingress(
        "web", annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}, server_fields=False
    )
    ingress["metadata"]["labels"] = dict(LABELS)
    sync_world.seed(ingress)
    source = sync_world.source_object("networking.k8s.io/v1", "Ingress", "web")

    sync_world.sync()

    copy = sync_world.dr_object("networking.k8s.io/v1", "Ingress", "web")
    assert copy["spec"] == source["spec"]
    assert copy["metadata"]["labels"] == source["metadata"]["labels"]
    assert copy["metadata"]["annotations"] == source["metadata"]["annotations"]


def test_renamed_namespace_is_created_with_source_metadata_and_data_is_untouched(
    sync_world: SyncWorld,
) -> None:
    world = sync_world
    world.namespace = unique_namespace("src")
    world.destination_namespace = unique_namespace("dr")
    world.create_namespace(labels={"env": "prod", "team": "shop"}, annotations={"owner": "ops"})
    text = f"url=http://web.{world.namespace}.svc.cluster.local:80\nraw=\u00e9\u00e8\n"
    world.seed(make_configmap("settings", data={"app.properties": text}, server_fields=False))
    world.configure()

    report = world.sync()

    assert report.succeeded, report.failure_summary()
    namespace = world.dr.get("v1", "Namespace", world.destination_namespace)
    assert namespace is not None
    labels = namespace["metadata"]["labels"]
    assert labels["env"] == "prod"
    assert labels["team"] == "shop"
    assert namespace["metadata"]["annotations"]["owner"] == "ops"
    assert world.dr_object("v1", "ConfigMap", "settings")["data"] == {"app.properties": text}
    assert world.dr.get("v1", "Namespace", world.namespace) is None


def test_field_removed_at_source_disappears_in_dr(sync_world: SyncWorld) -> None:
    sync_world.seed(
        make_configmap(
            "settings",
            data={"keep": "1", "drop": "2"},
            labels={"keep": "a", "drop": "b"},
            annotations={"drop": "c"},
            server_fields=False,
        )
    )
    sync_world.sync()
    source = sync_world.source_object("v1", "ConfigMap", "settings")
    source["data"].pop("drop")
    source["metadata"]["labels"].pop("drop")
    source["metadata"].pop("annotations")
    sync_world.replace_source(source)

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    copy = sync_world.dr_object("v1", "ConfigMap", "settings")
    assert copy["data"] == {"keep": "1"}
    assert copy["metadata"]["labels"] == {"keep": "a"}
    assert not copy["metadata"].get("annotations")


def test_renamed_namespace_rewrites_role_binding_subjects_and_resyncs_without_writes(
    sync_world: SyncWorld,
) -> None:
    world = sync_world
    world.namespace = unique_namespace("src")
    world.destination_namespace = unique_namespace("dr")
    world.create_namespace(labels={"env": "prod"})
    binding = make_role_binding("app-reader")
    binding["metadata"] = {"name": "app-reader"}
    binding["subjects"] = [
        {"kind": "ServiceAccount", "name": "app", "namespace": world.namespace},
        {"kind": "ServiceAccount", "name": "monitor", "namespace": "monitoring"},
    ]
    world.seed(binding)
    world.configure()
    assert world.sync().succeeded

    subjects = world.dr_object("rbac.authorization.k8s.io/v1", "RoleBinding", "app-reader")["subjects"]
    world.dr.audit.clear()
    report = world.sync()

    assert [s["namespace"] for s in subjects] == [world.destination_namespace, "monitoring"]
    assert report.succeeded, report.failure_summary()
    assert world.dr.audit.mutations() == []
