"""Failures: a missing source namespace stops before anything is written; transient API errors
(500, 429, a reset connection) injected mid-sync are retried and the sync completes correctly.

Every injected fault must have fired (``hits``): a fault whose verb or path no longer matches the
product's requests would otherwise make a test pass without testing anything. The transient-error tests
run the real flow, so the retries they assert are the ones its report counts.
"""

from __future__ import annotations

from typing import Any

import pytest

from drsyncer.config.loader import load_config
from drsyncer.errors import ClusterError, ConfigError
from flows.namespace_sync import namespace_sync
from tests.api.sync.conftest import MAPPING, SyncWorld, unique_namespace
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


def _flow_report(world: SyncWorld) -> dict[str, Any]:
    """Run the namespace-sync flow once; its JSON report (the flow run must complete)."""
    world.mapping()  # writes the configuration if the test did not
    state = namespace_sync(mapping=MAPPING, config=[str(world.config_path)], return_state=True)
    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    assert state.is_completed(), report
    return report


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("status", [500, 429])
def test_transient_errors_while_applying_are_retried(sync_world: SyncWorld, status: int) -> None:
    sync_world.seed(*(make_configmap(f"settings-{n}", server_fields=False) for n in range(4)))
    sync_world.seed(make_deployment("web", server_fields=False))
    faults = [
        sync_world.dr.faults.add(
            method="PATCH", path_regex="/configmaps/settings-2$", status=status, retry_after=0, times=2
        ),
        sync_world.dr.faults.add(
            method="PATCH", path_regex="/deployments/web$", status=status, retry_after=0, times=1
        ),
    ]

    report = _flow_report(sync_world)

    assert [fault.hits for fault in faults] == [2, 1]  # each injected failure was answered
    assert len(report["retries"]) == 3, report["retries"]
    assert all(f": {status}" in line for line in report["retries"]), report["retries"]
    assert report["counts"]["created"] >= 6
    for n in range(4):
        assert sync_world.dr_get("v1", "ConfigMap", f"settings-{n}") is not None
    assert sync_world.dr_object("apps/v1", "Deployment", "web")["spec"]["replicas"] == 0


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("status", [500, 429])
def test_transient_errors_while_listing_are_retried(sync_world: SyncWorld, status: int) -> None:
    seed_realistic_namespace(sync_world)
    faults = [
        sync_world.source.faults.add(
            method="GET", path_regex="/deployments$", status=status, retry_after=0, times=2
        ),
        sync_world.dr.faults.add(
            method="GET", path_regex="/services$", status=status, retry_after=0, times=1
        ),
    ]

    report = _flow_report(sync_world)

    assert [fault.hits for fault in faults] == [2, 1]  # each injected failure was answered
    assert len(report["retries"]) == 3, report["retries"]
    assert sync_world.dr_get("apps/v1", "Deployment", "web") is not None
    sync_world.dr.settle()
    sync_world.dr.audit.clear()
    again = _flow_report(sync_world)
    assert sync_world.dr.audit.mutations() == []
    assert again["retries"] == []


@pytest.mark.usefixtures("prefect_server")
def test_connection_reset_mid_sync_is_retried(sync_world: SyncWorld) -> None:
    sync_world.seed(make_configmap("settings", server_fields=False))
    fault = sync_world.dr.faults.add(method="PATCH", path_regex="/configmaps/settings$", reset=True, times=1)

    report = _flow_report(sync_world)

    assert fault.hits == 1  # the connection was really cut once
    assert len(report["retries"]) == 1, report["retries"]
    assert sync_world.dr_get("v1", "ConfigMap", "settings") is not None


def test_missing_dr_namespace_with_creation_off_fails_the_namespace_and_writes_nothing(
    sync_world: SyncWorld,
) -> None:
    sync_world.seed(make_configmap("settings", server_fields=False))
    sync_world.configure(namespaceConfig={"createNamespace": False})
    sync_world.dr.audit.clear()

    report = sync_world.sync()

    assert not report.succeeded
    assert [(o.kind, o.status) for o in report.objects] == [("Namespace", "failed")]
    assert "createNamespace" in report.objects[0].error
    assert sync_world.dr.audit.mutations() == []
