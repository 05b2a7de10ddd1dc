"""Metadata rules: server-owned metadata and status go, people's labels and annotations stay."""

from __future__ import annotations

from tasks.transform.runner import transform_object
from tests.factories import make_configmap, make_context, make_deployment, make_pvc, make_secret, make_service

CTX = make_context()
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def test_server_metadata_is_stripped() -> None:
    source = make_configmap()
    source["metadata"].update(
        generation=4,
        selfLink="/api/v1/x",
        finalizers=["x/y"],
        deletionTimestamp="2026-01-01T00:00:00Z",
        deletionGracePeriodSeconds=30,
        ownerReferences=[{"kind": "X", "name": "y", "uid": "z"}],
    )
    metadata = transform_object(source, CTX).obj["metadata"]
    assert set(metadata) == {"name", "namespace"}


def test_status_is_dropped() -> None:
    assert "status" not in transform_object(make_deployment(), CTX).obj


def test_last_applied_annotation_is_dropped_and_others_kept_byte_for_byte() -> None:
    annotations = {LAST_APPLIED: '{"kind":"ConfigMap"}', "team": "payments ", "note": "multi\nline"}
    result = transform_object(make_configmap(annotations=annotations), CTX).obj
    assert result["metadata"]["annotations"] == {"team": "payments ", "note": "multi\nline"}


def test_annotations_map_is_removed_when_only_last_applied_was_there() -> None:
    result = transform_object(make_configmap(annotations={LAST_APPLIED: "{}"}), CTX).obj
    assert "annotations" not in result["metadata"]


def test_configmap_keeps_exactly_source_labels_and_annotations() -> None:
    labels = {"app": "web", "dr-syncer.io/other": "x"}
    annotations = {"description": "settings", "kubernetes.io/change-cause": "deploy 7"}
    result = transform_object(make_configmap(labels=labels, annotations=annotations), CTX).obj
    assert result["metadata"]["labels"] == labels
    assert result["metadata"]["annotations"] == annotations


def test_secret_keeps_exactly_source_labels_annotations_type_and_data() -> None:
    source = make_secret(labels={"app": "web"}, annotations={"a": "b"}, secret_type="kubernetes.io/tls")
    result = transform_object(source, CTX).obj
    assert result["metadata"]["labels"] == {"app": "web"}
    assert result["metadata"]["annotations"] == {"a": "b"}
    assert result["type"] == "kubernetes.io/tls"
    assert result["data"] == source["data"]


def test_service_and_pvc_get_no_bookkeeping_metadata() -> None:
    for source in (
        make_service(labels={"a": "1"}, annotations={"b": "2"}),
        make_pvc(labels={"a": "1"}, annotations={"b": "2"}),
    ):
        metadata = transform_object(source, CTX).obj["metadata"]
        assert metadata["labels"] == {"a": "1"}
        assert metadata["annotations"] == {"b": "2"}


def test_objects_without_labels_get_none_added() -> None:
    metadata = transform_object(make_configmap(), CTX).obj["metadata"]
    assert "labels" not in metadata
    assert "annotations" not in metadata
