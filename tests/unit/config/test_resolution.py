"""Resolving references into effective mappings: clusters, namespaces, pause, kinds, sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drsyncer.config import SourcedDocument, SourceRef, load_config, load_documents
from drsyncer.config.selectors import LabelSelector
from drsyncer.errors import ConfigError, UsageError
from tests.unit.config.conftest import LoadDocuments, Problems
from tests.unit.config.factories import (
    cluster_mapping,
    namespace_mapping,
    remote_cluster,
    two_clusters,
    write_documents,
)


def test_cluster_mapping_ref_gives_source_and_destination_clusters(load: LoadDocuments) -> None:
    documents = [
        *two_clusters(),
        cluster_mapping("pair"),
        namespace_mapping("m", clusterMappingRef={"name": "pair"}),
    ]

    mapping = load(documents).mappings[0]

    assert (mapping.source.name, mapping.destination.name) == ("source", "dr")
    assert mapping.source.key == "dr-syncer/source"
    assert mapping.source.cluster.metadata.name == "source"


def test_cluster_mapping_in_another_namespace_resolves_its_clusters_there(load: LoadDocuments) -> None:
    documents = [
        remote_cluster("source", namespace="shared"),
        remote_cluster("dr", namespace="shared"),
        cluster_mapping("pair", namespace="shared"),
        namespace_mapping("m", clusterMappingRef={"name": "pair", "namespace": "shared"}),
    ]

    mapping = load(documents).mappings[0]

    assert mapping.namespace == "dr-syncer"
    assert mapping.source.namespace == "shared"
    assert mapping.cluster_mapping == "shared/pair"


def test_paused_cluster_mapping_pauses_its_namespace_mappings(load: LoadDocuments) -> None:
    documents = [
        *two_clusters(),
        cluster_mapping("pair", paused=True),
        namespace_mapping("m", clusterMappingRef={"name": "pair"}),
    ]

    assert load(documents).mappings[0].paused is True


def test_cluster_mapping_overrides_direct_cluster_names_with_a_warning(load: LoadDocuments) -> None:
    documents = [
        *two_clusters(),
        remote_cluster("other"),
        cluster_mapping("pair"),
        namespace_mapping("m", clusterMappingRef={"name": "pair"}, sourceCluster="other"),
    ]

    config = load(documents)

    assert config.mappings[0].source.name == "source"
    assert "spec.sourceCluster: 'other' is overridden by ClusterMapping dr-syncer/pair" in config.warnings[0]


def test_renamed_namespace_in_the_same_cluster_is_allowed(load: LoadDocuments) -> None:
    mapping = load(
        [*two_clusters(), namespace_mapping("m", destinationCluster="source", destinationNamespace="app-dr")]
    ).mappings[0]

    assert mapping.destination_namespace == "app-dr"
    assert mapping.namespace_renamed is True


def test_resource_types_are_normalised(load: LoadDocuments) -> None:
    kinds = ["ConfigMaps", "cm", "Deployment", "sts", "widgets.Example.com", "jobs"]

    mapping = load([*two_clusters(), namespace_mapping("m", resourceTypes=kinds)]).mappings[0]

    assert mapping.resource_types == (
        "configmaps",
        "deployments",
        "statefulsets",
        "widgets.example.com",
        "jobs",
    )


def test_namespace_scoped_resources_merge_into_resource_types(load: LoadDocuments) -> None:
    spec: dict[str, Any] = {
        "resourceTypes": ["configmaps"],
        "namespaceScopedResources": ["widgets.example.com", "*"],
    }

    mapping = load([*two_clusters(), namespace_mapping("m", **spec)]).mappings[0]

    assert mapping.resource_types == ("configmaps", "widgets.example.com")
    assert mapping.all_custom_resources is True


def test_unknown_resource_type_lists_accepted_names(problems: Problems) -> None:
    found = problems([*two_clusters(), namespace_mapping("m", resourceTypes=["configmaps", "statefulsett"])])

    assert len(found) == 1
    assert (
        "spec.resourceTypes[1]: unknown resource type 'statefulsett'; expected one of configmaps," in found[0]
    )


def test_never_synced_kind_is_refused_with_the_reason(problems: Problems) -> None:
    found = problems([*two_clusters(), namespace_mapping("m", resourceTypes=["pods"])])

    assert "spec.resourceTypes[0]: 'pods' is never synced: pods are created by their workloads" in found[0]


def test_namespace_scoped_resource_without_group_is_refused(problems: Problems) -> None:
    found = problems([*two_clusters(), namespace_mapping("m", namespaceScopedResources=["widgets"])])

    assert "spec.namespaceScopedResources[0]: unknown resource type 'widgets'" in found[0]


def test_crds_in_resource_types_are_ignored_with_a_warning(load: LoadDocuments) -> None:
    config = load([*two_clusters(), namespace_mapping("m", resourceTypes=["configmaps", "crds"])])

    assert config.mappings[0].resource_types == ("configmaps",)
    assert "copied only with syncCRDs: true" in config.warnings[0]


def test_sync_data_without_agents_is_a_warning(load: LoadDocuments) -> None:
    config = load([*two_clusters(), namespace_mapping("m", pvcConfig={"syncData": True})])

    assert config.mappings[0].data_sync is True
    assert any("pvcSync.enabled: true" in warning for warning in config.warnings)


def test_sync_data_without_restore_points_is_a_warning_and_a_class_silences_it(load: LoadDocuments) -> None:
    bare = load([*two_clusters(), namespace_mapping("m", pvcConfig={"syncData": True})])
    with_points = load(
        [
            *two_clusters(),
            namespace_mapping(
                "m", pvcConfig={"syncData": True, "restorePoints": {"volumeSnapshotClassName": "csi-snap"}}
            ),
        ]
    )

    assert any("without restore points" in warning for warning in bare.warnings)
    assert not any("restore points" in warning for warning in with_points.warnings)


def test_exclude_resources_match_any_spelling_of_the_kind(load: LoadDocuments) -> None:
    spec: dict[str, Any] = {"excludeResources": [{"kind": "cm", "name": "local"}]}
    mapping = load([*two_clusters(), namespace_mapping("m", **spec)]).mappings[0]

    assert mapping.excludes(kind="ConfigMap", resource="configmaps", name="local")
    assert not mapping.excludes(kind="ConfigMap", resource="configmaps", name="other")
    assert not mapping.excludes(kind="Secret", resource="secrets", name="local")


def test_label_selector_matches_like_kubernetes() -> None:
    selector = LabelSelector.model_validate(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["cache"]},
                {"key": "skip", "operator": "DoesNotExist"},
            ],
        }
    )

    assert selector.matches({"app": "web"})
    assert selector.matches({"app": "web", "tier": "front"})
    assert not selector.matches({"app": "web", "tier": "cache"})
    assert not selector.matches({"app": "web", "skip": ""})
    assert not selector.matches({"app": "api"})


def test_exported_objects_with_status_and_server_metadata_load(load: LoadDocuments) -> None:
    exported = namespace_mapping("m")
    exported["metadata"] |= {
        "uid": "1234",
        "resourceVersion": "77",
        "generation": 3,
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "managedFields": [{"manager": "kubectl"}],
        "finalizers": ["dr-syncer.io/cleanup-namespacemapping"],
        "labels": {"team": "a"},
        "annotations": {"dr-syncer.io/sync-now": "now"},
    }
    exported["status"] = {"phase": "Completed", "syncStats": {"totalResources": 3}}

    mapping = load([*two_clusters(), exported]).mappings[0]

    assert mapping.annotations == {"dr-syncer.io/sync-now": "now"}


def test_kubectl_list_output_is_expanded_into_its_items(load: LoadDocuments) -> None:
    listing = {"apiVersion": "v1", "kind": "List", "items": [*two_clusters(), namespace_mapping("m")]}

    assert [m.name for m in load([listing]).mappings] == ["m"]


def test_empty_documents_are_skipped(load: LoadDocuments) -> None:
    assert len(load([None, *two_clusters(), None, namespace_mapping("m")]).mappings) == 1


def test_load_documents_names_the_cluster_source_in_problems() -> None:
    source = SourceRef(label="cluster ctl/dr-syncer", index=2)
    documents = [SourcedDocument(body=namespace_mapping("m", bogus=1), source=source)]

    with pytest.raises(ConfigError) as raised:
        load_documents(documents)

    assert raised.value.problems[0].startswith(
        "cluster ctl/dr-syncer: document 2 (NamespaceMapping/m): spec.bogus"
    )


def test_load_documents_builds_the_same_mappings_as_files() -> None:
    documents = [
        SourcedDocument(body=d, source=SourceRef("cluster ctl/dr-syncer", i))
        for i, d in enumerate([*two_clusters(), namespace_mapping("m")], 1)
    ]

    config = load_documents(documents)

    assert config.mappings[0].key == "dr-syncer/m"
    assert config.sources == ("cluster ctl/dr-syncer",)


def test_directories_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    write_documents(tmp_path / "b" / "mappings.yml", [namespace_mapping("m")])
    write_documents(tmp_path / "a.yaml", two_clusters())
    write_documents(tmp_path / ".hidden" / "x.yaml", [{"kind": "nonsense"}])
    (tmp_path / "notes.txt").write_text("not config", encoding="utf-8")

    config = load_config([tmp_path])

    assert config.sources == (str(tmp_path / "a.yaml"), str(tmp_path / "b" / "mappings.yml"))
    assert config.mappings[0].source_ref.label == str(tmp_path / "b" / "mappings.yml")


def test_missing_path_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config([tmp_path / "nope.yaml"])

    assert raised.value.problems == [
        f"{tmp_path / 'nope.yaml'}: no such file or directory; "
        "expected a YAML file or a directory of *.yaml/*.yml files"
    ]


def test_empty_directory_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \*\.yaml or \*\.yml files"):
        load_config([tmp_path])


def test_mapping_lookup_by_name_or_key(load: LoadDocuments) -> None:
    config = load([*two_clusters(), namespace_mapping("m"), namespace_mapping("n", source_namespace="other")])

    assert config.mapping("m").name == "m"
    assert config.mapping("dr-syncer/n").name == "n"
    assert [m.name for m in config.select(["n"])] == ["n"]
    with pytest.raises(UsageError, match="no NamespaceMapping 'x'"):
        config.mapping("x")
