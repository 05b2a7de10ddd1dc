"""``drsyncer plan`` and ``drsyncer sync`` as a user runs them: subprocesses against two sandbox clusters
and the session's Prefect server. The JSON report and the exit codes are a contract scripts rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.sandbox import FakeCluster
from tests.api.sync.conftest import MAPPING, SyncWorld, unique_namespace
from tests.factories import make_configmap, make_deployment, make_service

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
REPORT_FIELDS = {"mapping", "source", "destination", "phase", "counts", "objects", "durationSeconds"}
COUNT_FIELDS = {"created", "updated", "unchanged", "pruned", "skipped", "failed"}
OBJECT_FIELDS = {"kind", "name", "action", "status", "error"}


@pytest.fixture
def world(source_cluster: FakeCluster, dr_cluster: FakeCluster, tmp_path: Path) -> SyncWorld:
    """Two clusters reached through ONE kubeconfig whose current-context is neither of the mapping's."""
    kubeconfig = tmp_path / "kubeconfig"
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for cluster in (source_cluster, dr_cluster):
        document = cluster.kubeconfig(cluster.name)
        for key in ("clusters", "users", "contexts"):
            merged[key] += document[key]
    merged["current-context"] = "dr"  # a user's kubectl points at DR; the source must still be the source
    kubeconfig.write_text(yaml.safe_dump(merged))
    namespace = unique_namespace("cli")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    built = SyncWorld(
        source=source_cluster,
        dr=dr_cluster,
        config_dir=config_dir,
        source_kubeconfig=kubeconfig,
        dr_kubeconfig=kubeconfig,
        namespace=namespace,
        destination_namespace=namespace,
    )
    built.create_namespace()
    return built


def _drsyncer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in env.items() if key != "KUBECONFIG"}
    return subprocess.run(
        [DRSYNCER, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    """The one JSON document on stdout (``json.loads`` refuses trailing text: this checks 'exactly one')."""
    assert result.stdout.strip(), f"no stdout; stderr: {result.stderr[-2000:]}"
    return json.loads(result.stdout)


def _assert_report_shape(report: dict[str, Any]) -> None:
    assert report.keys() >= REPORT_FIELDS
    assert set(report["source"]) >= {"cluster", "namespace"}
    assert set(report["destination"]) >= {"cluster", "namespace"}
    assert set(report["counts"]) == COUNT_FIELDS
    for item in report["objects"]:
        assert item.keys() >= OBJECT_FIELDS, item
    assert isinstance(report["durationSeconds"], int | float)


def test_sync_json_report_is_one_document_with_the_documented_fields(
    world: SyncWorld, prefect_api_env: dict[str, str]
) -> None:
    world.seed(make_configmap("settings", server_fields=False), make_deployment("web", server_fields=False))
    world.configure()

    result = _drsyncer(
        prefect_api_env, "sync", str(world.config_path), "--mapping", MAPPING, "--output", "json"
    )

    assert result.returncode == 0, result.stderr[-3000:]
    report = _json(result)
    _assert_report_shape(report)
    assert report["mapping"] == MAPPING
    assert report["source"] == {"cluster": "source", "namespace": world.namespace}
    assert report["destination"] == {"cluster": "dr", "namespace": world.destination_namespace}
    assert report["phase"] == "Completed"
    assert report["counts"]["failed"] == 0
    actions = {(o["kind"], o["name"]): (o["action"], o["status"]) for o in report["objects"]}
    assert actions[("ConfigMap", "settings")] == ("create", "synced")
    assert actions[("Deployment", "web")] == ("create", "synced")
    assert world.dr_object("apps/v1", "Deployment", "web")["spec"]["replicas"] == 0


def test_sync_exits_1_and_names_the_failed_object(world: SyncWorld, prefect_api_env: dict[str, str]) -> None:
    world.dr.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": "other"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30400}]},
        }
    )
    world.seed(
        make_service("web", cluster_ip=None, service_type="NodePort", node_port=30400, server_fields=False),
        make_configmap("settings", server_fields=False),
    )
    world.configure()

    result = _drsyncer(prefect_api_env, "sync", str(world.config_path), "--output", "json")

    assert result.returncode == 1, result.stderr[-3000:]
    report = _json(result)
    _assert_report_shape(report)
    assert report["phase"] == "Failed"
    assert report["counts"]["failed"] == 1
    failed = [o for o in report["objects"] if o["status"] == "failed"]
    assert [(o["kind"], o["name"]) for o in failed] == [("Service", "web")]
    assert failed[0]["error"]
    assert world.dr_get("v1", "ConfigMap", "settings") is not None


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_bad_configuration_exits_2_and_sends_no_request(
    world: SyncWorld, prefect_api_env: dict[str, str], command: str
) -> None:
    world.config_path.write_text(yaml.safe_dump_all(world.documents(schedule="every tuesday")))
    world.source.audit.clear()
    world.dr.audit.clear()

    result = _drsyncer(prefect_api_env, command, str(world.config_path), "--output", "json")

    assert result.returncode == 2, result.stderr[-3000:]
    assert "schedule" in result.stderr
    assert result.stdout == ""
    assert len(world.source.audit) == 0
    assert len(world.dr.audit) == 0


def test_plan_json_lists_every_object_and_sends_no_mutating_request(
    world: SyncWorld, prefect_api_env: dict[str, str]
) -> None:
    world.seed(make_configmap("settings", server_fields=False), make_deployment("web", server_fields=False))
    world.configure()
    world.source.audit.clear()
    world.dr.audit.clear()

    result = _drsyncer(
        prefect_api_env, "plan", str(world.config_path), "--mapping", MAPPING, "--output", "json"
    )

    assert result.returncode == 0, result.stderr[-3000:]
    plan = _json(result)
    _assert_report_shape(plan)
    assert plan["mapping"] == MAPPING
    assert plan["phase"] == "Planned"
    assert plan["counts"]["created"] >= 3  # the namespace, the ConfigMap, the Deployment (would be created)
    actions = {(o["kind"], o["name"]): o["action"] for o in plan["objects"]}
    assert actions[("Namespace", world.destination_namespace)] == "create"
    assert actions[("ConfigMap", "settings")] == "create"
    assert actions[("Deployment", "web")] == "create"
    assert world.source.audit.mutations() == []
    assert world.dr.audit.mutations() == []


def test_without_mapping_every_mapping_runs_and_mapping_selects_by_metadata_name(
    world: SyncWorld, prefect_api_env: dict[str, str]
) -> None:
    other = unique_namespace("cli2")
    world.source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    world.seed(make_configmap("settings", server_fields=False))
    documents = world.documents()
    second = json.loads(json.dumps(documents[-1]))
    second["metadata"]["name"] = "second"
    second["spec"]["sourceNamespace"] = second["spec"]["destinationNamespace"] = other
    world.config_path.write_text(yaml.safe_dump_all([*documents, second]))

    selected = _drsyncer(
        prefect_api_env, "plan", str(world.config_path), "--mapping", "second", "--output", "json"
    )
    everything = _drsyncer(prefect_api_env, "sync", str(world.config_path), "--output", "json")

    assert selected.returncode == 0, selected.stderr[-3000:]
    assert _json(selected)["mapping"] == "second"
    assert everything.returncode == 0, everything.stderr[-3000:]
    reports = _json(everything)
    assert sorted(report["mapping"] for report in reports) == [MAPPING, "second"]
    for report in reports:
        _assert_report_shape(report)
    assert world.dr.get("v1", "Namespace", other) is not None
    assert world.dr_get("v1", "ConfigMap", "settings") is not None
