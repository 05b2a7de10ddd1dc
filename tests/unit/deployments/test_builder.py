"""Deployments built from the example configuration: schedules, parameters, tags, limits (no Prefect)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from deployments.builder import (
    DEFAULT_TIMEZONE,
    DeploymentSpec,
    MappingReference,
    build_deployment_specs,
)
from drsyncer.config.loader import load_config

EXAMPLES = Path(__file__).resolve().parents[3] / "deployments" / "examples" / "file-mode"


@pytest.fixture(scope="module")
def specs() -> dict[str, DeploymentSpec]:
    config = load_config([EXAMPLES])
    built = build_deployment_specs(config, MappingReference.from_paths([EXAMPLES]))
    return {spec.name: spec for spec in built}


def test_every_mapping_and_cluster_mapping_gets_one_deployment(specs: dict[str, DeploymentSpec]) -> None:
    assert set(specs) == {
        "shop-scheduled",
        "billing-manual",
        "catalog-continuous",
        "legacy-paused",
        "database-with-data",
        "web-renamed",
        "source-to-dr",
    }


def test_scheduled_mapping_gets_its_cron_in_utc_by_default(specs: dict[str, DeploymentSpec]) -> None:
    spec = specs["shop-scheduled"]
    assert (spec.flow, spec.cron, spec.timezone, spec.interval) == (
        "namespace-sync",
        "*/15 8-18 * * mon-fri",
        DEFAULT_TIMEZONE,
        None,
    )
    assert specs["web-renamed"].cron == "*/5 * * * *"


def test_timezone_is_configurable() -> None:
    config = load_config([EXAMPLES])
    built = build_deployment_specs(config, MappingReference(config=("/x",)), timezone="Europe/Berlin")
    assert {spec.timezone for spec in built if spec.cron} == {"Europe/Berlin"}


def test_manual_mapping_has_no_schedule(specs: dict[str, DeploymentSpec]) -> None:
    spec = specs["billing-manual"]
    assert spec.cron is None
    assert spec.interval is None
    assert spec.flow == "namespace-sync"


def test_paused_mapping_is_a_paused_deployment(specs: dict[str, DeploymentSpec]) -> None:
    assert specs["legacy-paused"].paused
    assert not specs["shop-scheduled"].paused


def test_continuous_mapping_runs_the_continuous_flow_kept_alive_without_overlap(
    specs: dict[str, DeploymentSpec],
) -> None:
    spec = specs["catalog-continuous"]
    assert spec.flow == "continuous-sync"
    assert spec.entrypoint == "flows.continuous.continuous_sync"
    assert spec.cron is None
    assert spec.interval == timedelta(minutes=5)
    assert (spec.concurrency_limit, spec.collision_strategy) == (1, "CANCEL_NEW")


def test_parameters_only_refer_to_the_mapping(specs: dict[str, DeploymentSpec]) -> None:
    spec = specs["shop-scheduled"]
    assert spec.parameters == {"mapping": "shop-scheduled", "config": [str(EXAMPLES)], "controller": None}


def test_controller_reference_carries_kubeconfig_path_and_context_only() -> None:
    config = load_config([EXAMPLES])
    reference = MappingReference(controller={"kubeconfig": "/etc/k/controller", "context": "ctl"})
    built = build_deployment_specs(config, reference, cluster_mappings=False)
    assert built[0].parameters == {
        "mapping": "shop-scheduled",
        "config": None,
        "controller": {"kubeconfig": "/etc/k/controller", "context": "ctl"},
    }


def test_tags_name_mapping_and_clusters(specs: dict[str, DeploymentSpec]) -> None:
    assert specs["billing-manual"].tags[:3] == ("mapping:billing-manual", "source:source", "destination:dr")


def test_every_deployment_has_concurrency_limit_one(specs: dict[str, DeploymentSpec]) -> None:
    assert {spec.concurrency_limit for spec in specs.values()} == {1}


def test_cluster_mapping_runs_its_scheduled_and_manual_mappings_on_demand(
    specs: dict[str, DeploymentSpec],
) -> None:
    spec = specs["source-to-dr"]
    assert spec.flow == "cluster-sync"
    assert spec.cron is None
    assert spec.parameters["cluster_mapping"] == "source-to-dr"
    assert "dr-syncer/catalog-continuous" not in spec.mapping_keys
    assert "dr-syncer/billing-manual" in spec.mapping_keys


def test_same_name_in_two_namespaces_gets_qualified_names(tmp_path: Path) -> None:
    document = """
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {name: a, namespace: %(ns)s}
spec: {kubeconfig: {path: ./kc, context: a}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {name: b, namespace: %(ns)s}
spec: {kubeconfig: {path: ./kc, context: b}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {name: app, namespace: %(ns)s}
spec: {sourceCluster: a, destinationCluster: b, sourceNamespace: app, replicationMode: Manual}
"""
    (tmp_path / "one.yaml").write_text(document % {"ns": "team-one"})
    (tmp_path / "two.yaml").write_text(document % {"ns": "team-two"})
    built = build_deployment_specs(load_config([tmp_path]), MappingReference(config=(str(tmp_path),)))
    assert sorted(spec.name for spec in built) == ["team-one-app", "team-two-app"]
    assert sorted(spec.parameters["mapping"] for spec in built) == ["team-one/app", "team-two/app"]
