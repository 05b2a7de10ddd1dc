"""Stage, cutover and failback end to end: the DR flows across two sandbox clusters and a Prefect server.

The sandbox kubelets run in the background (pods appear and go like on a real cluster), so the flows'
probes wait for real state changes; tests poll with deadlines and never sleep to wait for state.
"""

from __future__ import annotations

import contextvars
import copy
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drsyncer import labels
from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from tests.api.sync.conftest import MAPPING, SyncWorld, unique_namespace
from tests.factories import make_cronjob, make_daemonset, make_deployment, make_statefulset

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
GRACE_SCALE = 0.05
"""Sandbox seconds per second of a pod's termination grace period (30 s → 1.5 s)."""
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
    for cluster in (source_cluster, dr_cluster):  # pods stay Terminating: the stop probes really wait
        cluster.api.termination.seconds_per_grace_second = GRACE_SCALE  # reset() turns it off again
        cluster.set_background(True)
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


def test_interrupted_cutover_resumes_in_another_process_without_repeating_completed_steps(
    world: SyncWorld, prefect_api_env: dict[str, str]
) -> None:
    from flows.dr_operations import cutover

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
    resumed = subprocess.run(
        [DRSYNCER, "cutover", "--resume", document["flowRunId"], "--output", "json"],
        env={key: value for key, value in prefect_api_env.items() if key != "KUBECONFIG"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = json.loads(resumed.stdout)
    assert final["flowRunId"] == document["flowRunId"]
    assert final["phase"] == "Completed"
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


def test_rollback_of_an_interrupted_cutover_restarts_the_source_and_copies_nothing_back(
    world: SyncWorld,
) -> None:
    from flows.dr_operations import cutover, failback

    _stage(world)
    world.dr.faults.add(method="PATCH", path_regex="/deployments/web$", status=403, times=None)
    _, failed = _run(cutover, world, yes=True, **TIMEOUTS)
    assert failed["phase"] == "Failed"
    world.dr.faults.clear()

    state, document = _run(failback, world, yes=True, copy_back=False, **TIMEOUTS)

    assert state.is_completed(), document
    assert "reverse-data" not in _steps(document)
    assert _replicas(world.source, world.namespace, "Deployment", "web") == 3
    assert _ready(world.source, world.namespace, "web", 3)
    assert not _suspended(world.source, world.namespace)
    assert not _parked(world.source, world.namespace)
    assert _replicas(world.dr, world.destination_namespace, "Deployment", "web") == 0


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


def test_cutover_pauses_for_approval_and_resumes_with_input(
    world: SyncWorld, prefect_api_env: dict[str, str]
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from flows.dr_operations import cutover

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

    approved = subprocess.run(
        [DRSYNCER, "resume", paused["id"], "--approver", "alice", "--comment", "region down"],
        env={key: value for key, value in prefect_api_env.items() if key != "KUBECONFIG"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert approved.returncode == 0, approved.stderr[-2000:]
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


# --- the stop guards: a side that does not stop, or starts again, stops the operation -----------------


WORKLOAD_APPS = ("web", "db", "agent")


def _workload_pods(cluster: FakeCluster, namespace: str) -> list[KubeObject]:
    return [p for p in _pods(cluster, namespace) if p["metadata"]["labels"].get("app") in WORKLOAD_APPS]


@dataclass
class ComesBack:
    """A pod of ``web`` starts again on a side right after the wait saw it stopped (started by someone
    else: a GitOps tool, a person). Runs before each list of the side's Deployments: the first list that
    finds no workload pod arms it (that probe round passes: pods only go while a side stops); the next
    list — the sync's or the guard's, after the wait — creates the pod."""

    cluster: FakeCluster
    namespace: str
    state: str = "idle"

    def __call__(self) -> None:
        if self.state == "idle" and not _workload_pods(self.cluster, self.namespace):
            self.state = "armed"
        elif self.state == "armed":
            self.state = "created"
            self.cluster.create(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": "web-restarted",
                        "namespace": self.namespace,
                        "labels": {"app": "web"},
                    },
                    "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}]},
                }
            )

    def arm(self) -> Any:
        """Install on the cluster; returns the fault rule (its ``hits`` count the lists seen)."""
        path = f"/apis/apps/v1/namespaces/{self.namespace}/deployments$"
        return self.cluster.faults.add(method="GET", path_regex=path, times=None, before=self)


def _assert_stopped_with_commands(document: dict[str, Any], *, operation: str, failed_step: str) -> None:
    """The documented failure: the failed step, both sides' state, resume and rollback commands."""
    assert document["phase"] == "Failed", document
    assert _steps(document)[failed_step] == "failed", document["steps"]
    assert document["steps"][-1]["step"] == failed_step
    assert set(document["sides"]) == {"source", "dr"}
    assert "Deployment/web" in document["sides"]["source"]
    assert "Deployment/web" in document["sides"]["dr"]
    assert document["resume"] == f"drsyncer {operation} --resume {document['flowRunId']}"
    rollback = "drsyncer failback" if operation == "cutover" else "drsyncer cutover"
    assert document["rollback"].startswith(rollback), document["rollback"]


def test_cutover_stops_when_a_source_pod_never_goes(world: SyncWorld) -> None:
    from flows.dr_operations import cutover

    _stage(world)
    held = next(
        p for p in _pods(world.source, world.namespace) if p["metadata"]["labels"].get("app") == "web"
    )
    held = copy.deepcopy(held)
    held["metadata"]["finalizers"] = ["example.com/hold"]
    pods = world.source.registry.by_kind("v1", "Pod")
    assert pods is not None
    world.source.api.update_internal(pods, held, manager="test")

    state, document = _run(cutover, world, yes=True, stop_timeout_seconds=3, ready_timeout_seconds=20)

    assert state.is_failed()
    _assert_stopped_with_commands(document, operation="cutover", failed_step="wait-source-stopped")
    assert "Deployment/web: 1 pods left" in document["error"]
    assert "--no-copy-back" in document["rollback"]
    assert _replicas(world.source, world.namespace, "Deployment", "web") == 0
    assert _replicas(world.dr, world.destination_namespace, "Deployment", "web") == 0
    assert "start-dr" not in _steps(document)


def test_cutover_stops_when_a_source_pod_comes_back_before_dr_starts(world: SyncWorld) -> None:
    from flows.dr_operations import cutover

    _stage(world)
    comes_back = ComesBack(world.source, world.namespace)
    rule = comes_back.arm()

    state, document = _run(cutover, world, yes=True, **TIMEOUTS)

    assert comes_back.state == "created", rule.hits
    assert state.is_failed()
    _assert_stopped_with_commands(document, operation="cutover", failed_step="guard-source-stopped")
    assert "source side still runs pods" in document["error"]
    assert _steps(document)["wait-source-stopped"] == "done"
    assert "start-dr" not in _steps(document)
    assert _replicas(world.dr, world.destination_namespace, "Deployment", "web") == 0
    assert _replicas(world.dr, world.destination_namespace, "StatefulSet", "db") == 0


def test_failback_stops_when_a_dr_pod_comes_back_before_the_source_starts(world: SyncWorld) -> None:
    from flows.dr_operations import cutover, failback

    _stage(world)
    assert _run(cutover, world, yes=True, **TIMEOUTS)[1]["phase"] == "Completed"
    comes_back = ComesBack(world.dr, world.destination_namespace)
    rule = comes_back.arm()

    state, document = _run(failback, world, yes=True, **TIMEOUTS)

    assert comes_back.state == "created", rule.hits
    assert state.is_failed()
    _assert_stopped_with_commands(document, operation="failback", failed_step="guard-dr-stopped")
    assert "dr side still runs pods" in document["error"]
    assert "start-source" not in _steps(document)
    assert _replicas(world.source, world.namespace, "Deployment", "web") == 0
    assert _replicas(world.source, world.namespace, "StatefulSet", "db") == 0


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


# --- with PVC data: real sshd + rsync agents on every sandbox node ----------------------------------


@dataclass
class DataClusters:
    """Two background sandbox clusters with agents for both directions (source→DR and DR→source)."""

    source: FakeCluster
    dr: FakeCluster
    agents: Any
    workdir: Path


@pytest.fixture(scope="module")
def data_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataClusters]:
    """Started once for the module; agents stopped by PID at the end."""
    if shutil.which("rsync") is None or not Path("/usr/sbin/sshd").exists():
        pytest.skip("rsync and openssh-server are required for PVC data")
    from drsyncer.demo import node_specs
    from drsyncer.sandbox.agent_pods import start_agents_with_pods

    workdir = tmp_path_factory.mktemp("dr-data")
    source = FakeCluster("source", nodes=node_specs(workdir, "source", 111), background=True).start()
    dr = FakeCluster("dr", nodes=node_specs(workdir, "dr", 112), background=True).start()
    for cluster in (source, dr):  # pods stay Terminating for their grace period: 30 s → 1.5 s
        cluster.api.termination.seconds_per_grace_second = GRACE_SCALE
    agents = start_agents_with_pods(
        (source, dr),
        [("source-to-dr", "source", "dr"), ("dr-to-source", "dr", "source")],
        work_dir=workdir / "agents",
    )
    source.write_kubeconfig(workdir / "source.kubeconfig", "source")
    dr.write_kubeconfig(workdir / "dr.kubeconfig", "dr")
    yield DataClusters(source=source, dr=dr, agents=agents, workdir=workdir)
    agents.stop()
    source.close()
    dr.close()


def _data_config(clusters: DataClusters, namespace: str, path: Path, *, restore_points: str = "") -> Path:
    """A file-mode config syncing PVC data (with restore points of class ``restore_points`` if given)."""
    from drsyncer.sandbox.agents import cluster_port
    from drsyncer.sandbox.config_files import remote_cluster_yaml

    def remote(name: str) -> str:
        kubeconfig = clusters.workdir / f"{name}.kubeconfig"
        return remote_cluster_yaml(name, kubeconfig, ssh_port=cluster_port(clusters.agents, name))

    restore_point_fields = (
        f", restorePoints: {{volumeSnapshotClassName: {restore_points}}}" if restore_points else ""
    )
    path.write_text(
        f"""{remote("source")}---
{remote("dr")}---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {MAPPING}}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {namespace}
  replicationMode: Manual
  resourceTypes: [persistentvolumeclaims, deployments]
  retryConfig: {{maxRetries: 1, initialBackoff: 1s, maxBackoff: 1s}}
  pvcConfig: {{syncData: true{restore_point_fields}}}
""",
        encoding="utf-8",
    )
    return path


def _volume(cluster: FakeCluster, namespace: str, claim: str) -> Path:
    found = cluster.get("v1", "PersistentVolumeClaim", claim, namespace) or {}
    name = (found.get("spec") or {}).get("volumeName")
    assert name, f"claim {claim} is not bound in {cluster.name}"
    return cluster.kubelet.volume_dir(str(name))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write(root: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _bytes_of(document: dict[str, Any], step: str) -> int:
    return int(next(s["bytes"] for s in document["steps"] if s["step"] == step))


def _scale_write(cluster: FakeCluster, namespace: str, name: str, *, replicas: int, after: float) -> float:
    """When (audit log, wall clock) ``cluster`` first received a write setting ``name``'s replicas."""
    times = [
        entry.timestamp
        for entry in cluster.audit.mutations(
            path_regex=f"/namespaces/{namespace}/deployments/{name}(/scale)?$"
        )
        if entry.timestamp >= after
        and isinstance(entry.body, dict)
        and (entry.body.get("spec") or {}).get("replicas") == replicas
    ]
    assert times, f"no write set {cluster.name}/{namespace}/{name} to {replicas} replicas"
    return min(times)


@dataclass
class LastWords:
    """The app's last write as its pod exits (a flush on SIGTERM): only a copy made after every pod of
    the workload is gone carries it. Records when each pod went (wall clock)."""

    volume: Path
    app: str
    exits: list[float]

    def __call__(self, resource: Any, obj: KubeObject) -> None:
        if resource.key == ("", "pods") and (obj["metadata"].get("labels") or {}).get("app") == self.app:
            _write(self.volume, {"last-words.txt": f"{obj['metadata']['name']} stopped\n".encode()})
            self.exits.append(time.time())


def test_cutover_carries_the_data_as_stopped_and_failback_moves_back_only_changes(
    data_clusters: DataClusters, prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.dr_operations import cutover, failback, stage

    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(data_clusters.agents.work_dir / "controller"))
    source, dr = data_clusters.source, data_clusters.dr
    namespace = unique_namespace("drdata")
    source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    claim: KubeObject = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "standard",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    web = _own_selector(make_deployment("web", replicas=1, server_fields=False))
    web["metadata"]["namespace"] = namespace
    web["spec"]["template"]["spec"]["volumes"] = [
        {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}
    ]
    web["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "d", "mountPath": "/d"}]
    web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 120  # stays Terminating 6 s
    source.create(claim)
    source.create(web)
    poll(lambda: _ready(source, namespace, "web", 1), timeout=15)
    config = [str(_data_config(data_clusters, namespace, tmp_path / "config.yaml"))]
    big = {f"chunk-{i}.bin": bytes([i]) * 50_000 for i in range(8)}
    _write(_volume(source, namespace, "data"), {**big, "state.txt": b"v1\n"})

    staged = stage(mapping=MAPPING, config=config, migrate_pvc_data=True, return_state=True)
    assert staged.is_completed(), staged.result(raise_on_failure=False)
    assert _tree(_volume(dr, namespace, "data")) == _tree(_volume(source, namespace, "data"))

    _write(
        _volume(source, namespace, "data"), {"state.txt": b"v2 written after the stage\n", "new.txt": b"n"}
    )
    last_words = LastWords(_volume(source, namespace, "data"), "web", [])
    source.api.hooks.after_delete.append(last_words)
    began = time.time()
    try:
        state = cutover(mapping=MAPPING, config=config, yes=True, return_state=True, **TIMEOUTS)
    finally:
        source.api.hooks.after_delete.remove(last_words)
    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document

    assert state.is_completed(), document
    assert _tree(_volume(dr, namespace, "data")) == _tree(_volume(source, namespace, "data"))
    assert _tree(_volume(dr, namespace, "data"))["state.txt"] == b"v2 written after the stage\n"
    assert b"stopped" in _tree(_volume(dr, namespace, "data"))["last-words.txt"]
    assert _bytes_of(document, "final-data") > 0
    assert _ready(dr, namespace, "web", 1)
    # in time: source scaled to 0 → its pod gone (after its grace period) → final pull → DR scaled up
    stop_source = _scale_write(source, namespace, "web", replicas=0, after=began)
    start_dr = _scale_write(dr, namespace, "web", replicas=1, after=began)
    pulls = [p.started for p in data_clusters.agents.pulls() if p.started >= began and p.kind != "version"]
    assert len(last_words.exits) == 1, last_words.exits
    assert pulls, "the cutover pulled no data"
    assert stop_source < last_words.exits[0] < min(pulls), (stop_source, last_words.exits, pulls)
    assert max(pulls) < start_dr, (pulls, start_dr)

    _write(_volume(dr, namespace, "data"), {"state.txt": b"v3 written in DR\n"})
    state = failback(mapping=MAPPING, config=config, yes=True, return_state=True, **TIMEOUTS)
    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document

    assert state.is_completed(), document
    assert _tree(_volume(source, namespace, "data"))["state.txt"] == b"v3 written in DR\n"
    assert _tree(_volume(source, namespace, "data")) == _tree(_volume(dr, namespace, "data"))
    moved_back = _bytes_of(document, "reverse-data")
    assert 0 < moved_back < 50_000, moved_back
    assert _ready(source, namespace, "web", 1)
    assert _replicas(dr, namespace, "Deployment", "web") == 0
