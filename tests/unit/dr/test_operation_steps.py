"""The steps each operation runs (what --dry-run prints and the flows follow)."""

from __future__ import annotations

from pathlib import Path

from drsyncer.config.loader import load_config
from flows.dr_operations import operation_steps, reverse_mapping
from tasks.pvc_data import key_set_name


def _names(operation: str, **options: bool) -> list[str]:
    return [name for name, _ in operation_steps(operation, **options)]


def test_cutover_stops_the_source_before_the_final_data_copy_and_starts_dr_last() -> None:
    names = _names("cutover", data=True, approval=True)

    assert names == [
        "check-staleness",
        "approval",
        "pause-syncs",
        "record-source-replicas",
        "stop-source",
        "wait-source-stopped",
        "final-data",
        "sync-objects",
        "guard-source-stopped",
        "start-dr",
        "wait-dr-ready",
    ]


def test_forced_cutover_with_yes_skips_the_staleness_check_and_the_approval() -> None:
    names = _names("cutover", data=False, approval=False, staleness=False)

    assert names[:2] == ["pause-syncs", "record-source-replicas"]
    assert "final-data" not in names


def test_failback_stops_dr_before_copying_back_and_starting_the_source() -> None:
    names = _names("failback", data=True, approval=False)

    assert names.index("stop-dr") < names.index("reverse-data") < names.index("start-source")
    assert names.index("guard-dr-stopped") < names.index("start-source")
    assert names[-2:] == ["verify-dr-at-rest", "resume-syncs"]


def test_failback_without_copy_back_moves_no_data_to_the_source() -> None:
    assert "reverse-data" not in _names("failback", data=True, approval=False, copy_back=False)


def test_stage_copies_data_only_when_asked() -> None:
    assert _names("stage", data=False, approval=False) == ["sync-objects", "verify-dr-at-rest"]
    assert "copy-data" in _names("stage", data=True, approval=False)


def test_reverse_mapping_swaps_clusters_and_namespaces(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        """\
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {name: prod}
spec: {kubeconfig: {path: /k, context: prod}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {name: dr}
spec: {kubeconfig: {path: /k, context: dr}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {name: shop}
spec: {sourceCluster: prod, destinationCluster: dr, sourceNamespace: shop, destinationNamespace: shop-dr}
""",
        encoding="utf-8",
    )
    mapping = load_config([config]).mapping("shop")

    reverse = reverse_mapping(mapping)

    assert (reverse.source.name, reverse.destination.name) == ("dr", "prod")
    assert (reverse.source_namespace, reverse.destination_namespace) == ("shop-dr", "shop")
    assert key_set_name(reverse) == "dr-to-prod"
    assert reverse.name == mapping.name
