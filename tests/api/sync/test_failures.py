"""Failures: a missing source namespace stops before anything is written; transient API errors
(500, 429) injected mid-sync are retried and the sync completes correctly."""

from __future__ import annotations

import pytest

from drsyncer.config.loader import load_config
from drsyncer.errors import ClusterError, ConfigError
from tests.api.sync.conftest import SyncWorld, unique_namespace
from tests.api.sync.test_idempotence import seed_realistic_namespace
from tests.factories import make_configmap, make_deployment


def test_missing_source_namespace_is_a_clear_error_and_nothing_is_created(sync_world: SyncWorld) -> None:
    sync_world.namespace = unique_namespace("missing")
    sync_world.destination_namespace = sync_world.namespace
    sync_world.configure()
    sync_world.dr.audit.clear()

    with pytest.raises(ClusterError) as raised:
        sync_world.sync()

    message = str(raised.value)
    assert sync_world.namespace in message
    assert "source" in message
    assert sync_world.dr.audit.mutations() == []
    assert sync_world.dr.get("v1", "Namespace", sync_world.namespace) is None


def test_invalid_configuration_is_rejected_before_any_request(sync_world: SyncWorld) -> None:
    documents = sync_world.documents(schedule="not a cron", unknownField=True)
    import yaml

    sync_world.config_path.write_text(yaml.safe_dump_all(documents))
    sync_world.source.audit.clear()
    sync_world.dr.audit.clear()

    with pytest.raises(ConfigError):
        load_config([sync_world.config_path])

    assert len(sync_world.source.audit) == 0
    assert len(sync_world.dr.audit) == 0


@pytest.mark.parametrize("status", [500, 429])
def test_transient_errors_while_applying_are_retried(sync_world: SyncWorld, status: int) -> None:
    sync_world.seed(*(make_configmap(f"settings-{n}", server_fields=False) for n in range(4)))
    sync_world.seed(make_deployment("web", server_fields=False))
    sync_world.dr.faults.add(
        method="PATCH", path_regex="/configmaps/settings-2$", status=status, retry_after=0, times=2
    )
    sync_world.dr.faults.add(
        method="PATCH", path_regex="/deployments/web$", status=status, retry_after=0, times=1
    )

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert report.counts["created"] >= 6
    for n in range(4):
        assert sync_world.dr_get("v1", "ConfigMap", f"settings-{n}") is not None
    assert sync_world.dr_object("apps/v1", "Deployment", "web")["spec"]["replicas"] == 0


@pytest.mark.parametrize("status", [500, 429])
def test_transient_errors_while_listing_are_retried(sync_world: SyncWorld, status: int) -> None:
    seed_realistic_namespace(sync_world)
    sync_world.source.faults.add(
        method="GET", path_regex="/deployments$", status=status, retry_after=0, times=2
    )
    sync_world.dr.faults.add(method="GET", path_regex="/services$", status=status, retry_after=0, times=1)

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert sync_world.dr_get("apps/v1", "Deployment", "web") is not None
    sync_world.dr.settle()
    sync_world.dr.audit.clear()
    assert sync_world.sync().succeeded
    assert sync_world.dr.audit.mutations() == []


def test_connection_reset_mid_sync_is_retried(sync_world: SyncWorld) -> None:
    sync_world.seed(make_configmap("settings", server_fields=False))
    sync_world.dr.faults.add(method="PATCH", path_regex="/configmaps/settings$", reset=True, times=1)

    report = sync_world.sync()

    assert report.succeeded, report.failure_summary()
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None
