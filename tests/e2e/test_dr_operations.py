"""Stage, cutover and failback end to end: the DR flows across two sandbox clusters and a Prefect server.

The sandbox kubelets run in the background (pods appear and go like on a real cluster), so the flows'
probes wait for real state changes; tests poll with deadlines and never sleep to wait for state.
"""

from __future__ import annotations

import contextvars
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drsyncer import labels
from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from tests.api.sync.conftest import MAPPING, SyncWorld, unique_namespace
from tests.factories import make_cronjob, make_daemonset, make_deployment, make_statefulset

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
TIMEOUTS: dict[str, Any] = {"stop_timeout_seconds": 20, "ready_timeout_seconds": 20}


def poll(check: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> None:
    """Wait until ``check()`` is true (fail at the deadline)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout:.0f} s")
        time.sleep(interval)


def _own_selector(obj: KubeObject) -> KubeObject:
    """Give a factory workload pods of its own (the factories share ``app: web``)."""
    name = obj["metadata"]["name"]
    spec = obj["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else spec["template"]
    template["metadata"]["labels"] = {"app": name}
    if "selector" in spec:
        spec["selector"] = {"matchLabels": {"app": name}}
    return obj


@pytest.fixture
def world(
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    tmp_path: Path,
    prefect_server: str,
) -> Iterator[SyncWorld]:
    """A source namespace running web (3), db (2), a DaemonSet and a CronJob; kubelets in the background."""
    namespace = unique_namespace("dr")
    sync_world = SyncWorld(
        source=source_cluster,
        dr=dr_cluster,
        config_dir=tmp_path,
        source_kubeconfig=source_kubeconfig,
        dr_kubeconfig=dr_kubeconfig,
        namespace=namespace,
        destination_namespace=namespace,
    )
    sync_world.create_namespace()
    source_cluster.set_background(True)
    dr_cluster.set_background(True)
    sync_world.seed(
        _own_selector(make_deployment("web", replicas=3, server_fields=False)),
        _own_selector(make_statefulset("db", replicas=2, server_fields=False)),
        _own_selector(make_daemonset("agent", server_fields=False)),
        _own_selector(make_cronjob("nightly", server_fields=False)),
    )
    sync_world.configure()
    poll(lambda: _ready(sync_world.source, sync_world.namespace, "web", 3), timeout=10)
    yield sync_world
    source_cluster.set_background(False)
    dr_cluster.set_background(False)


def _ready(cluster: FakeCluster, namespace: str, name: str, count: int) -> bool:
    found = cluster.get("apps/v1", "Deployment", name, namespace) or {}
    return int((found.get("status") or {}).get("readyReplicas", 0)) == count


def _pods(cluster: FakeCluster, namespace: str) -> list[KubeObject]:
    return cluster.objects("v1", "Pod", namespace)


def _replicas(cluster: FakeCluster, namespace: str, kind: str, name: str) -> int:
    found = cluster.get("apps/v1", kind, name, namespace)
    assert found is not None, f"{kind}/{name} missing in {cluster.name}/{namespace}"
    return int(found["spec"]["replicas"])


def _annotation(cluster: FakeCluster, namespace: str, kind: str, name: str) -> str | None:
    found = cluster.get("apps/v1", kind, name, namespace) or {}
    return ((found.get("metadata") or {}).get("annotations") or {}).get(labels.ORIGINAL_REPLICAS)


def _parked(cluster: FakeCluster, namespace: str) -> bool:
    found = cluster.get("apps/v1", "DaemonSet", "agent", namespace) or {}
    selector = found["spec"]["template"]["spec"].get("nodeSelector") or {}
    return selector.get(labels.PARKED) == "true"


def _suspended(cluster: FakeCluster, namespace: str) -> bool:
    found = cluster.get("batch/v1", "CronJob", "nightly", namespace) or {}
    return bool(found["spec"].get("suspend"))


def _run(operation: Callable[..., Any], world: SyncWorld, **parameters: Any) -> tuple[Any, dict[str, Any]]:
    state = operation(mapping=MAPPING, config=[str(world.config_path)], return_state=True, **parameters)
    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document
    return state, document


def _steps(document: dict[str, Any]) -> dict[str, str]:
    return {step["step"]: step["outcome"] for step in document["steps"]}


def _stage(world: SyncWorld) -> None:
    from flows.dr_operations import stage

    _, document = _run(stage, world)
    assert document["phase"] == "Completed", document


def test_stage_leaves_every_dr_workload_at_rest(world: SyncWorld) -> None:
    from flows.dr_operations import stage

    state, document = _run(stage, world)

    assert state.is_completed(), document
    namespace = world.destination_namespace
    assert _replicas(world.dr, namespace, "Deployment", "web") == 0
    assert _replicas(world.dr, namespace, "StatefulSet", "db") == 0
    assert _suspended(world.dr, namespace)
    assert _parked(world.dr, namespace)
    world.dr.settle()
    assert _pods(world.dr, namespace) == []
    assert _steps(document) == {"sync-objects": "done", "verify-dr-at-rest": "done"}
    assert _replicas(world.source, world.namespace, "Deployment", "web") == 3


def test_cutover_stops_the_source_and_starts_dr_at_the_recorded_counts(world: SyncWorld) -> None:
    from flows.dr_operations import cutover

    _stage(world)

    state, document = _run(cutover, world, yes=True, **TIMEOUTS)

    assert state.is_completed(), document
    source, dr = world.namespace, world.destination_namespace
    assert _replicas(world.source, source, "Deployment", "web") == 0
    assert _replicas(world.source, source, "StatefulSet", "db") == 0
    assert _annotation(world.source, source, "Deployment", "web") == "3"
    assert _annotation(world.source, source, "StatefulSet", "db") == "2"
    assert _suspended(world.source, source)
    assert _parked(world.source, source)
    assert [p for p in _pods(world.source, source) if p["metadata"]["labels"].get("app") != "nightly"] == []
    assert _replicas(world.dr, dr, "Deployment", "web") == 3
    assert _replicas(world.dr, dr, "StatefulSet", "db") == 2
    assert _ready(world.dr, dr, "web", 3)
    assert not _suspended(world.dr, dr)
    assert not _parked(world.dr, dr)
    assert document["counts"] == {"Deployment/web": 3, "StatefulSet/db": 2}
    outcomes = _steps(document)
    assert list(outcomes) == [
        "check-staleness",
        "pause-syncs",
        "record-source-replicas",
        "stop-source",
        "wait-source-stopped",
        "sync-objects",
        "guard-source-stopped",
        "start-dr",
        "wait-dr-ready",
    ]
    assert set(outcomes.values()) == {"done"}
    for step in document["steps"]:
        assert step["startedAt"]
        assert step["finishedAt"]


def test_interrupted_cutover_resumes_without_repeating_completed_steps(world: SyncWorld) -> None:
    from flows.dr_operations import cutover, retry_run

    _stage(world)
    source, dr = world.namespace, world.destination_namespace
    web = f"/namespaces/{dr}/deployments/web$"
    world.dr.faults.add(method="PATCH", path_regex=web, status=403, times=None)

    state, document = _run(cutover, world, yes=True, **TIMEOUTS)

    assert state.is_failed()
    assert document["phase"] == "Failed"
    assert _steps(document)["start-dr"] == "failed"
    assert document["resume"] == f"drsyncer cutover --resume {document['flowRunId']}"
    assert "--no-copy-back" in document["rollback"]
    assert document["sides"]["source"]["Deployment/web"] == "0/0 ready"
    assert _replicas(world.source, source, "Deployment", "web") == 0
    assert _replicas(world.dr, dr, "Deployment", "web") == 0

    world.dr.faults.clear()
    world.source.audit.clear()
    retried = retry_run(document["flowRunId"])

    final = retried.result(raise_on_failure=False)
    assert isinstance(final, dict), final
    assert retried.is_completed(), final
    assert world.source.audit.mutations() == []
    outcomes = _steps(final)
    assert outcomes["record-source-replicas"] == "skipped"
    assert outcomes["stop-source"] == "skipped"
    assert outcomes["sync-objects"] == "skipped"
    assert outcomes["wait-source-stopped"] == "done"
    assert outcomes["start-dr"] == "done"
    assert outcomes["wait-dr-ready"] == "done"
    assert _replicas(world.dr, dr, "Deployment", "web") == 3
    assert _annotation(world.source, source, "Deployment", "web") == "3"


def test_failback_restores_the_original_counts_and_stages_dr_again(world: SyncWorld) -> None:
    from flows.dr_operations import cutover, failback

    _stage(world)
    assert _run(cutover, world, yes=True, **TIMEOUTS)[1]["phase"] == "Completed"

    state, document = _run(failback, world, yes=True, **TIMEOUTS)

    assert state.is_completed(), document
    source, dr = world.namespace, world.destination_namespace
    assert _replicas(world.source, source, "Deployment", "web") == 3
    assert _replicas(world.source, source, "StatefulSet", "db") == 2
    assert _ready(world.source, source, "web", 3)
    assert not _suspended(world.source, source)
    assert not _parked(world.source, source)
    assert _replicas(world.dr, dr, "Deployment", "web") == 0
    assert _replicas(world.dr, dr, "StatefulSet", "db") == 0
    assert _suspended(world.dr, dr)
    assert _parked(world.dr, dr)
    assert _annotation(world.dr, dr, "Deployment", "web") == "3"
    assert document["counts"] == {"Deployment/web": 3, "StatefulSet/db": 2}
    assert _steps(document)["verify-dr-at-rest"] == "done"


def test_cutover_pauses_for_approval_and_resumes_with_input(world: SyncWorld) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from flows.dr_operations import answer_approval, cutover

    _stage(world)
    result: dict[str, Any] = {}

    def run() -> None:
        result["state"] = cutover(
            mapping=MAPPING,
            config=[str(world.config_path)],
            approval_poll_seconds=1,
            return_state=True,
            **TIMEOUTS,
        )

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    thread.start()
    paused: dict[str, str] = {}

    def is_paused() -> bool:
        with get_client(sync_client=True) as client:
            named = FlowRunFilter(name=FlowRunFilterName(like_="cutover-"))
            runs = client.read_flow_runs(flow_run_filter=named)
        for run in runs:
            if (
                run.state is not None
                and run.state.is_paused()
                and run.parameters["config"] == [str(world.config_path)]
            ):
                paused["id"] = str(run.id)
                return True
        return False

    poll(is_paused, timeout=60, interval=0.3)
    assert _replicas(world.source, world.namespace, "Deployment", "web") == 3  # nothing happened yet

    answer_approval(paused["id"], approve=True, approver="alice", comment="region down")
    thread.join(90)

    assert not thread.is_alive()
    document = result["state"].result(raise_on_failure=False)
    assert document["phase"] == "Completed", document
    approval = next(step for step in document["steps"] if step["step"] == "approval")
    assert approval["detail"] == "approved by alice: region down"
    assert _replicas(world.dr, world.destination_namespace, "Deployment", "web") == 3


def test_cutover_refuses_a_stale_dr_copy_and_changes_nothing(world: SyncWorld) -> None:
    from flows.dr_operations import cutover

    _stage(world)
    world.source.audit.clear()
    world.dr.audit.clear()

    state, document = _run(cutover, world, yes=True, max_staleness_seconds=0.001, **TIMEOUTS)

    assert state.is_failed()
    assert document["phase"] == "Refused"
    assert "stale" in document["error"]
    assert document["resume"] is None
    assert world.source.audit.mutations() == []
    assert world.dr.audit.mutations() == []
    assert _replicas(world.source, world.namespace, "Deployment", "web") == 3


def test_cli_dry_run_prints_the_steps_and_stage_prints_one_json_report(
    world: SyncWorld, prefect_api_env: dict[str, str]
) -> None:
    env = {key: value for key, value in prefect_api_env.items() if key != "KUBECONFIG"}
    config = str(world.config_path)
    world.source.audit.clear()

    dry = subprocess.run(
        [DRSYNCER, "cutover", config, "--mapping", MAPPING, "--dry-run", "--migrate-pvc-data"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    staged = subprocess.run(
        [DRSYNCER, "stage", config, "--mapping", MAPPING, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert dry.returncode == 0, dry.stderr[-2000:]
    for step in ("check-staleness", "approval", "stop-source", "final-data", "start-dr", "wait-dr-ready"):
        assert step in dry.stdout
    assert world.source.audit.mutations() == []
    assert staged.returncode == 0, staged.stderr[-3000:]
    report = json.loads(staged.stdout)
    assert report["operation"] == "stage"
    assert report["phase"] == "Completed"
    assert [step["step"] for step in report["steps"]] == ["sync-objects", "verify-dr-at-rest"]
