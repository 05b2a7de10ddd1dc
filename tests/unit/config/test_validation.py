"""Every validation rule: each problem is one line naming the file, the document, the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drsyncer.config import load_config
from drsyncer.errors import ConfigError
from tests.unit.config.conftest import LoadDocuments, Problems
from tests.unit.config.factories import cluster_mapping, namespace_mapping, remote_cluster, two_clusters


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def test_unknown_field_names_file_document_path_and_suggests_the_right_one(
    problems: Problems, config_file: Path
) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", shedule="0 * * * *")]))

    assert problem.startswith(f"{config_file}: document 3 (NamespaceMapping/m): spec.shedule: unknown field")
    assert "did you mean 'schedule'?" in problem
    assert "expected one of:" in problem


def test_unknown_nested_field_lists_the_allowed_fields(problems: Problems) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", pvcConfig={"syncdata": True})]))

    assert "spec.pvcConfig.syncdata: unknown field" in problem
    assert "did you mean 'syncData'?" in problem


def test_unknown_top_level_field_is_refused(problems: Problems) -> None:
    document = namespace_mapping("m") | {"extra": 1}

    assert ": extra: unknown field" in only(problems([*two_clusters(), document]))


def test_wrong_type_says_what_was_given_and_expected(problems: Problems) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", paused="yes please")]))

    assert "spec.paused: got 'yes please' (str); expected true or false" in problem


def test_string_true_is_not_a_boolean(problems: Problems) -> None:
    assert "spec.scaleToZero: got 'true'" in only(
        problems([*two_clusters(), namespace_mapping("m", scaleToZero="true")])
    )


def test_bad_enum_lists_accepted_values_case_sensitive(problems: Problems) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", replicationMode="scheduled")]))

    assert "spec.replicationMode: 'scheduled' is not accepted" in problem
    assert "'Scheduled', 'Manual' or 'Continuous'" in problem


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        (
            "spec.pvcConfig.dataSyncConfig.verificationMode",
            {"pvcConfig": {"dataSyncConfig": {"verificationMode": "Full"}}},
        ),
        (
            "spec.immutableResourceConfig.defaultHandling",
            {"immutableResourceConfig": {"defaultHandling": "recreate"}},
        ),
        (
            "spec.immutableResourceConfig.resourceOverrides.statefulsets.apps",
            {"immutableResourceConfig": {"resourceOverrides": {"statefulsets.apps": "Delete"}}},
        ),
        ("spec.failureHandling.defaultMode", {"failureHandling": {"defaultMode": "Retry"}}),
    ],
)
def test_every_enum_is_checked(problems: Problems, path: str, spec: dict[str, Any]) -> None:
    assert f"{path}: " in only(problems([*two_clusters(), namespace_mapping("m", **spec)]))


def test_address_type_accepts_only_external_or_internal_ip(problems: Problems) -> None:
    clusters = [
        remote_cluster("source", kubeconfig={"path": "k"}, pvcSync={"addressType": "Hostname"}),
        remote_cluster("dr"),
    ]

    problem = only(problems([*clusters, namespace_mapping("m")]))

    assert (
        "spec.pvcSync.addressType: 'Hostname' is not accepted; expected one of 'ExternalIP' or 'InternalIP'"
        in problem
    )


def test_cron_out_of_range_is_refused_with_the_field_named(problems: Problems, config_file: Path) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", schedule="61 * * * *")]))

    assert problem.startswith(f"{config_file}: document 3 (NamespaceMapping/m): spec.schedule: ")
    assert "minute field value 61 is out of range; expected 0-59" in problem


def test_remote_cluster_default_schedule_is_validated(problems: Problems) -> None:
    clusters = [
        remote_cluster("source", kubeconfig={"path": "k"}, defaultSchedule="* * *"),
        remote_cluster("dr"),
    ]

    assert "spec.defaultSchedule: cron schedule '* * *' has 3 field(s)" in only(
        problems([*clusters, namespace_mapping("m")])
    )


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"retryConfig": {"initialBackoff": "5 seconds"}}, "spec.retryConfig.initialBackoff"),
        ({"retryConfig": {"maxBackoff": 300}}, "spec.retryConfig.maxBackoff"),
        ({"continuous": {"backgroundSyncInterval": "1d"}}, "spec.continuous.backgroundSyncInterval"),
        ({"pvcConfig": {"dataSyncConfig": {"timeout": "soon"}}}, "spec.pvcConfig.dataSyncConfig.timeout"),
    ],
)
def test_bad_durations_are_refused(problems: Problems, spec: dict[str, Any], path: str) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", **spec)]))

    assert f"{path}: " in problem
    assert "expected" in problem


@pytest.mark.parametrize(
    ("spec", "path", "bound"),
    [
        ({"retryConfig": {"backoffMultiplier": 50}}, "spec.retryConfig.backoffMultiplier", ">= 100"),
        (
            {"pvcConfig": {"dataSyncConfig": {"samplePercent": 101}}},
            "spec.pvcConfig.dataSyncConfig.samplePercent",
            "<= 100",
        ),
        (
            {"pvcConfig": {"dataSyncConfig": {"bandwidthLimit": -1}}},
            "spec.pvcConfig.dataSyncConfig.bandwidthLimit",
            ">= 0",
        ),
    ],
)
def test_numbers_out_of_range_name_the_bound(
    problems: Problems, spec: dict[str, Any], path: str, bound: str
) -> None:
    assert f"{path}: " in (problem := only(problems([*two_clusters(), namespace_mapping("m", **spec)])))
    assert bound in problem


def test_invalid_object_name_is_refused(problems: Problems) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("My_Mapping")]))

    assert (
        "(NamespaceMapping/My_Mapping): metadata.name: 'My_Mapping' is not a valid DNS-1123 name" in problem
    )


@pytest.mark.parametrize("field", ["sourceNamespace", "destinationNamespace"])
def test_invalid_namespace_names_are_refused(problems: Problems, field: str) -> None:
    spec = {"sourceNamespace": "app", field: "App.Prod"}

    problem = only(problems([*two_clusters(), namespace_mapping("m", **spec)]))

    assert f"spec.{field}: 'App.Prod' is not a valid DNS-1123 label" in problem


def test_missing_required_field_is_named(problems: Problems) -> None:
    document = namespace_mapping("m")
    del document["spec"]["sourceNamespace"]

    assert "spec.sourceNamespace: required field is missing" in only(problems([*two_clusters(), document]))


def test_missing_name_is_named(problems: Problems) -> None:
    document = remote_cluster("x")
    del document["metadata"]["name"]

    assert "metadata.name: required field is missing" in only(problems([document]))


def test_remote_cluster_needs_exactly_one_connection(problems: Problems) -> None:
    both = remote_cluster("source", kubeconfig={"path": "k"}, inCluster=True)
    neither = remote_cluster("dr", pvcSync={"enabled": True})

    found = problems([both, neither])

    assert len(found) == 2
    assert (
        "(RemoteCluster/source): spec: a RemoteCluster needs exactly one way to connect, "
        "found kubeconfig and inCluster" in found[0]
    )
    assert (
        "(RemoteCluster/dr): spec: a RemoteCluster needs exactly one way to connect, found none of them"
        in found[1]
    )


def test_namespace_mapping_needs_a_cluster_mapping_or_both_clusters(problems: Problems) -> None:
    document = namespace_mapping("m")
    del document["spec"]["destinationCluster"]

    problem = only(problems([*two_clusters(), document]))

    assert (
        "spec: no clusters: destinationCluster missing; expected clusterMappingRef {name} or both" in problem
    )


def test_label_selector_operator_and_values_are_checked(problems: Problems) -> None:
    selector = {
        "matchExpressions": [
            {"key": "tier", "operator": "In"},
            {"key": "tier", "operator": "Exists", "values": ["x"]},
            {"key": "tier", "operator": "Near", "values": ["x"]},
        ]
    }

    found = problems([*two_clusters(), namespace_mapping("m", labelSelector=selector)])

    assert any("spec.labelSelector.matchExpressions[0]: operator In needs values" in p for p in found)
    assert any("spec.labelSelector.matchExpressions[1]: operator Exists takes no values" in p for p in found)
    assert any("spec.labelSelector.matchExpressions[2].operator: 'Near' is not accepted" in p for p in found)


def test_label_selector_keys_must_be_label_keys(problems: Problems) -> None:
    problem = only(
        problems([*two_clusters(), namespace_mapping("m", labelSelector={"matchLabels": {"bad key": "x"}})])
    )

    assert "spec.labelSelector.matchLabels: 'bad key' is not a valid label key" in problem


def test_duplicate_names_are_reported_with_both_places(problems: Problems, config_file: Path) -> None:
    problem = only(
        problems([*two_clusters(), namespace_mapping("m"), namespace_mapping("m", source_namespace="other")])
    )

    assert problem.startswith(
        f"{config_file}: document 4 (NamespaceMapping/m): metadata.name: duplicate NamespaceMapping"
    )
    assert f"already defined in {config_file}: document 3" in problem


def test_same_name_in_other_namespace_or_other_kind_is_not_a_duplicate(load: LoadDocuments) -> None:
    documents = [*two_clusters(), remote_cluster("source", namespace="other"), cluster_mapping("source")]

    assert len(load(documents).remote_clusters) == 3


def test_dangling_cluster_reference_names_missing_and_known_clusters(
    problems: Problems, config_file: Path
) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", destinationCluster="dr-east")]))

    assert problem.startswith(f"{config_file}: document 3 (NamespaceMapping/m): spec.destinationCluster: ")
    assert (
        "RemoteCluster dr-syncer/dr-east not found; "
        "expected one of the RemoteClusters in namespace dr-syncer: dr, source" in problem
    )


def test_dangling_cluster_mapping_reference_is_reported(problems: Problems) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", clusterMappingRef={"name": "nope"})]))

    assert "spec.clusterMappingRef.name: ClusterMapping dr-syncer/nope not found" in problem
    assert "(there is none)" in problem


def test_cluster_mapping_with_missing_remote_cluster_is_reported_once(problems: Problems) -> None:
    documents = [
        remote_cluster("source"),
        cluster_mapping("pair"),
        namespace_mapping("m", clusterMappingRef={"name": "pair"}),
    ]

    problem = only(problems(documents))

    assert "(ClusterMapping/pair): spec.targetCluster: RemoteCluster dr-syncer/dr not found" in problem


def test_references_resolve_within_the_same_namespace(problems: Problems) -> None:
    documents = [
        remote_cluster("source", namespace="team-a"),
        remote_cluster("dr", namespace="team-a"),
        namespace_mapping("m"),
    ]

    found = problems(documents)

    assert len(found) == 2
    assert (
        "RemoteCluster 'source' exists in namespace team-a; references resolve within the same namespace"
        in found[0]
    )


def test_reference_to_an_invalid_document_is_not_reported_twice(problems: Problems) -> None:
    broken = remote_cluster("dr", kubeconfig={"path": "k"}, bogus=True)

    found = problems([remote_cluster("source"), broken, namespace_mapping("m")])

    assert len(found) == 1
    assert "spec.bogus: unknown field" in found[0]


def test_same_cluster_and_same_namespace_is_refused(problems: Problems) -> None:
    problem = only(problems([*two_clusters(), namespace_mapping("m", destinationCluster="source")]))

    assert (
        "spec.destinationNamespace: source and destination are the same namespace 'app' of the same cluster"
        in problem
    )


def test_two_remote_clusters_with_the_same_kubeconfig_context_are_the_same_cluster(
    problems: Problems,
) -> None:
    same = [
        remote_cluster("source", kubeconfig={"path": "k", "context": "c"}),
        remote_cluster("dr", kubeconfig={"path": "k", "context": "c"}),
    ]

    assert "same namespace 'app' of the same cluster" in only(problems([*same, namespace_mapping("m")]))


def test_not_a_dr_syncer_document_is_named(problems: Problems, config_file: Path) -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}

    problem = only(problems([*two_clusters(), config_map]))

    assert problem.startswith(
        f"{config_file}: document 3 (ConfigMap/x): v1 ConfigMap is not a dr-syncer configuration document"
    )


def test_wrong_api_version_of_a_known_kind_is_named(problems: Problems) -> None:
    document = remote_cluster("source") | {"apiVersion": "dr-syncer.io/v1beta1"}

    assert (
        "apiVersion: 'dr-syncer.io/v1beta1' is not accepted for RemoteCluster; expected dr-syncer.io/v1alpha1"
        in only(problems([document]))
    )


def test_document_that_is_not_a_mapping_is_refused(problems: Problems) -> None:
    assert "got list; expected a mapping with apiVersion, kind, metadata and spec" in only(problems([["a"]]))  # type: ignore[list-item]


def test_all_problems_are_reported_in_one_run(problems: Problems) -> None:
    documents = [
        *two_clusters(),
        namespace_mapping("a", schedule="61 * * * *"),
        namespace_mapping("b", bogus=1),
        namespace_mapping("c", destinationCluster="missing"),
    ]

    found = problems(documents)

    assert [p.split(": ")[1] for p in found] == [
        "document 3 (NamespaceMapping/a)",
        "document 4 (NamespaceMapping/b)",
        "document 5 (NamespaceMapping/c)",
    ]


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(
        "apiVersion: dr-syncer.io/v1alpha1\nkind: RemoteCluster\nmetadata:\n  name: [x\n", encoding="utf-8"
    )

    with pytest.raises(ConfigError) as raised:
        load_config([file])

    assert raised.value.problems[0].startswith(f"{file}: document 1: line 5, column 1: invalid YAML")


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "dup.yaml"
    file.write_text("kind: RemoteCluster\nkind: ClusterMapping\n", encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_config([file])

    assert "line 2, column 1: invalid YAML: found duplicate key 'kind'" in raised.value.problems[0]


def test_problems_are_listed_in_file_order(problems: Problems) -> None:
    documents = [
        *two_clusters(),
        namespace_mapping("a", destinationCluster="missing"),
        namespace_mapping("b", bogus=1),
    ]

    found = problems(documents)

    assert "(NamespaceMapping/a)" in found[0]
    assert "(NamespaceMapping/b)" in found[1]


def test_workload_parking_entry_needs_exactly_one_way_to_park(problems: Problems) -> None:
    both = {
        "group": "argoproj.io",
        "kind": "Rollout",
        "replicasPath": "spec.replicas",
        "annotations": {"a": "b"},
    }
    problem = only(problems([*two_clusters(), namespace_mapping("m", workloadParking=[both])]))

    assert "spec.workloadParking[0]: workloadParking entry argoproj.io/Rollout" in problem
    assert "give exactly one of replicasPath" in problem


def test_workload_parking_replicas_path_must_be_a_dotted_path(problems: Problems) -> None:
    entry = {"group": "argoproj.io", "kind": "Rollout", "replicasPath": "spec/replicas"}
    problem = only(problems([*two_clusters(), namespace_mapping("m", workloadParking=[entry])]))

    assert "is not a dotted field path like spec.replicas" in problem


def test_load_balancer_handling_is_keep_or_cluster_ip(problems: Problems) -> None:
    problem = only(
        problems([*two_clusters(), namespace_mapping("m", serviceConfig={"loadBalancer": "NodePort"})])
    )

    assert "spec.serviceConfig.loadBalancer" in problem
