"""Deployments on a real Prefect server: registration from the example config, and ``drsyncer serve``.

The session's Prefect server (``prefect_server``) receives the deployments. The serve test starts
``drsyncer serve`` as a subprocess (runner poll interval 1 s instead of 10 s), triggers two runs of a
Manual mapping and checks they synced the sandbox clusters one after the other (the second waits ~30 s in
``AwaitingConcurrencySlot``: the server's ``PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS``),
that serve started the Continuous mapping's flow at once, that a paused mapping never ran, that
``drsyncer status`` reports the last run, and that SIGTERM stops serve cleanly. Also here: ``prefect
deploy --all`` of the committed prefect.yaml, ``drsyncer deploy``, the cluster-sync flow and the
controller-mode sync-now watcher.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, CustomObjectsApi

from deployments.builder import MappingReference, build_deployment_specs, to_runner_deployment
from drsyncer.config.loader import load_config
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.agents import free_port
from drsyncer.sandbox.config_files import remote_cluster_yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deployments" / "examples" / "file-mode"


def poll(check: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> None:
    """Wait until ``check()`` is true (fail at the deadline)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout:.0f} s")
        time.sleep(interval)


def _read(name: str) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name)


def _runs(deployment_id: Any) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        runs: list[Any] = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
        return runs


def test_example_config_registers_expected_deployments(prefect_server: str) -> None:
    config = load_config([EXAMPLES])
    for spec in build_deployment_specs(config, MappingReference.from_paths([EXAMPLES])):
        to_runner_deployment(spec).apply()

    scheduled = _read("namespace-sync/shop-scheduled")
    assert [(s.schedule.cron, s.schedule.timezone) for s in scheduled.schedules] == [
        ("*/15 8-18 * * mon-fri", "UTC")
    ]
    assert scheduled.parameters == {
        "mapping": "shop-scheduled",
        "config": [str(EXAMPLES)],
        "controller": None,
    }
    assert {"mapping:shop-scheduled", "source:source", "destination:dr"} <= set(scheduled.tags)
    assert scheduled.global_concurrency_limit.limit == 1
    assert scheduled.entrypoint == "flows.namespace_sync.namespace_sync"

    manual = _read("namespace-sync/billing-manual")
    assert manual.schedules == []
    assert manual.global_concurrency_limit.limit == 1

    paused = _read("namespace-sync/legacy-paused")
    assert paused.paused
    assert _runs(paused.id) == []

    continuous = _read("continuous-sync/catalog-continuous")
    assert continuous.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert [s.schedule.interval.total_seconds() for s in continuous.schedules] == [300]

    cluster = _read("cluster-sync/source-to-dr")
    assert cluster.schedules == []
    assert cluster.parameters["cluster_mapping"] == "source-to-dr"

    serialized = json.dumps([d.parameters for d in (scheduled, manual, paused, continuous, cluster)])
    for secret_marker in ("token", "BEGIN", "password", "client-key"):
        assert secret_marker not in serialized


def _write_config(directory: Path, source_kubeconfig: Path, dr_kubeconfig: Path, namespace: str) -> Path:
    path = directory / "serve.yaml"
    path.write_text(
        f"""
{remote_cluster_yaml("source", source_kubeconfig)}---
{remote_cluster_yaml("dr", dr_kubeconfig)}---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {namespace}-manual}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {namespace}
  replicationMode: Manual
  resourceTypes: [configmaps]
---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {namespace}-paused}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {namespace}
  destinationNamespace: {namespace}-never
  schedule: "* * * * *"
  paused: true
---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {namespace}-live}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {namespace}-live
  replicationMode: Continuous
  resourceTypes: [configmaps]
"""
    )
    return path


@pytest.fixture
def serve_process(
    tmp_path: Path, prefect_api_env: dict[str, str], source_kubeconfig: Path, dr_kubeconfig: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path, int]]:
    namespace = f"serve-{uuid.uuid4().hex[:6]}"
    metrics_port = free_port()
    config = _write_config(tmp_path, source_kubeconfig, dr_kubeconfig, namespace)
    env = dict(prefect_api_env, PREFECT_RUNNER_POLL_FREQUENCY="1", PREFECT_LOGGING_LEVEL="WARNING")
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "drsyncer"),
            "serve",
            str(config),
            "--metrics-port",
            str(metrics_port),
            "--metrics-refresh-seconds",
            "1",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, namespace, config, metrics_port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def test_serve_runs_triggered_runs_one_at_a_time_continuous_at_once_and_never_a_paused_mapping(
    serve_process: tuple[subprocess.Popen[bytes], str, Path, int],
    prefect_api_env: dict[str, str],
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
) -> None:
    from prefect import get_client

    process, namespace, config, metrics_port = serve_process
    live = f"{namespace}-live"
    for name in (namespace, live):
        source_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    source_cluster.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app", "namespace": namespace},
            "data": {"a": "1"},
        }
    )

    def registered() -> bool:
        assert process.poll() is None, "drsyncer serve exited early"
        try:
            _read(f"namespace-sync/{namespace}-paused")
        except Exception:
            return False
        return True

    poll(registered, timeout=60)
    manual = _read(f"namespace-sync/{namespace}-manual")
    with get_client(sync_client=True) as client:
        runs = [client.create_flow_run_from_deployment(manual.id) for _ in range(2)]

        # serve started the Continuous mapping's long-running flow: a new source object reaches DR
        poll(lambda: dr_cluster.get("v1", "Namespace", live) is not None, timeout=30)
        source_cluster.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "late", "namespace": live},
                "data": {},
            }
        )
        poll(lambda: dr_cluster.get("v1", "ConfigMap", "late", live) is not None, timeout=5)

        def finished() -> bool:
            states = [client.read_flow_run(run.id).state for run in runs]
            return all(state is not None and state.is_final() for state in states)

        poll(finished, timeout=90, interval=0.5)
        done = [client.read_flow_run(run.id) for run in runs]
    intervals = []
    for run in done:
        assert run.state is not None
        assert run.state.type.value == "COMPLETED", run.state
        assert run.start_time is not None
        assert run.end_time is not None
        intervals.append((run.start_time, run.end_time))
    first, second = sorted(intervals)
    assert first[1] <= second[0], "two runs of one mapping overlapped"
    assert dr_cluster.get("v1", "ConfigMap", "app", namespace) is not None

    drsyncer = str(Path(sys.executable).parent / "drsyncer")
    via = subprocess.run(
        [drsyncer, "sync", str(config), "--mapping", f"{namespace}-manual", "--via-deployment", "-o", "json"],
        cwd=REPO,
        env=prefect_api_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert via.returncode == 0, via.stderr[-2000:]
    triggered = json.loads(via.stdout)
    assert triggered["deployment"] == f"namespace-sync/{namespace}-manual"
    assert triggered["phase"] == "Completed"
    assert triggered["counts"]["failed"] == 0

    paused = _read(f"namespace-sync/{namespace}-paused")
    assert paused.paused
    assert _runs(paused.id) == []
    assert dr_cluster.get("v1", "Namespace", f"{namespace}-never") is None

    status = subprocess.run(
        [str(Path(sys.executable).parent / "drsyncer"), "status", str(config), "--output", "json"],
        cwd=REPO,
        env=prefect_api_env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    by_mapping = {item["mapping"]: item for item in json.loads(status.stdout)}
    manual_status = by_mapping[f"{namespace}-manual"]
    assert manual_status["lastState"] == "Completed"
    assert manual_status["objects"]["created"] + manual_status["objects"]["unchanged"] >= 1
    assert by_mapping[f"{namespace}-paused"]["paused"] is True

    # serve's /metrics (--metrics-port) reports what it ran, read back from the Prefect API.
    samples = _metrics_when(
        metrics_port,
        lambda s: (f"{namespace}-manual", "objects") in s.get("drsyncer_last_success_timestamp_seconds", {}),
    )
    assert samples["drsyncer_mapping_paused"][(f"{namespace}-paused",)] == 1
    assert samples["drsyncer_mapping_paused"][(f"{namespace}-manual",)] == 0
    assert samples["drsyncer_sync_failures_total"][(f"{namespace}-manual", "objects")] == 0

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0, "serve must stop cleanly on SIGTERM"
    assert os.environ.get("PREFECT_API_URL") in (None, prefect_api_env["PREFECT_API_URL"])


def _metrics_when(
    port: int, check: Callable[[dict[str, dict[tuple[str, ...], float]]], bool]
) -> dict[str, dict[tuple[str, ...], float]]:
    """Scrape ``/metrics`` until ``check`` holds: sample name → (mapping, stage or reason) → value."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, dict[tuple[str, ...], float]] = {}

    def ready() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        found.clear()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = tuple(sample.labels[k] for k in ("mapping", "stage", "reason") if k in sample.labels)
                found.setdefault(sample.name, {})[labels] = sample.value
        return check(found)

    poll(ready, timeout=30)
    return found


def test_prefect_deploy_all_registers_the_committed_prefect_yaml(prefect_api_env: dict[str, str]) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool("drsyncer")
        except Exception:
            client.create_work_pool(WorkPoolCreate(name="drsyncer", type="process"))
    subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
        cwd=REPO,
        env=prefect_api_env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    manual = _read("namespace-sync/billing-manual")
    assert manual.work_pool_name == "drsyncer"
    assert manual.schedules == []
    assert manual.global_concurrency_limit.limit == 1
    assert _read("namespace-sync/legacy-paused").paused
    assert (
        _read("continuous-sync/catalog-continuous").concurrency_options.collision_strategy.value
        == "CANCEL_NEW"
    )


def test_deploy_cli_registers_deployments_with_job_variables_for_a_pool(
    prefect_api_env: dict[str, str], tmp_path: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool("drsyncer-deploy-test")
        except Exception:  # not there yet
            client.create_work_pool(WorkPoolCreate(name="drsyncer-deploy-test", type="process"))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "drsyncer"),
            "deploy",
            str(EXAMPLES),
            "--pool",
            "drsyncer-deploy-test",
            "--config-path",
            "/etc/drsyncer",
            "--env",
            "DRSYNCER_LOG_LEVEL=INFO",
            "--timezone",
            "Europe/Berlin",
            "--output",
            "json",
        ],
        cwd=REPO,
        env=prefect_api_env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    registered = {item["deployment"]: item for item in json.loads(result.stdout)}
    assert "namespace-sync/web-renamed" in registered
    deployment = _read("namespace-sync/web-renamed")
    assert deployment.work_pool_name == "drsyncer-deploy-test"
    assert deployment.parameters["config"] == ["/etc/drsyncer"]
    assert deployment.job_variables == {
        "env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30", "DRSYNCER_LOG_LEVEL": "INFO"}
    }
    assert deployment.schedules[0].schedule.timezone == "Europe/Berlin"


def test_cluster_sync_runs_its_mappings_as_subflows(
    prefect_server: str,
    tmp_path: Path,
    source_kubeconfig: Path,
    dr_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
) -> None:
    from flows.cluster_sync import cluster_sync

    namespaces = [f"cs-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    documents = [
        f"""apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {{name: source}}
spec: {{kubeconfig: {{path: {source_kubeconfig}, context: source}}}}""",
        f"""apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata: {{name: dr}}
spec: {{kubeconfig: {{path: {dr_kubeconfig}, context: dr}}}}""",
        """apiVersion: dr-syncer.io/v1alpha1
kind: ClusterMapping
metadata: {name: pair}
spec: {sourceCluster: source, targetCluster: dr}""",
    ]
    for namespace in namespaces:
        source_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        source_cluster.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": namespace}}
        )
        documents.append(
            f"""apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {namespace}}}
spec: {{clusterMappingRef: {{name: pair}}, sourceNamespace: {namespace}, replicationMode: Manual,
        resourceTypes: [configmaps]}}"""
        )
    config = tmp_path / "pair.yaml"
    config.write_text("\n---\n".join(documents))
    state = cluster_sync(cluster_mapping="pair", config=[str(config)], return_state=True)
    assert state.is_completed(), state.message
    for namespace in namespaces:
        assert dr_cluster.get("v1", "ConfigMap", "app", namespace) is not None


def test_sync_now_triggers_exactly_one_run_per_new_value(
    controller_cluster: FakeCluster, controller_api: ApiClient
) -> None:
    import threading

    from drsyncer.config.crds import crd_manifest
    from drsyncer.kube.connect import client_from_kubeconfig_dict
    from tasks.watch.sync_now import SyncNowWatcher

    controller_cluster.create(crd_manifest("NamespaceMapping"))
    controller_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dr-syncer"}})
    body = {
        "apiVersion": "dr-syncer.io/v1alpha1",
        "kind": "NamespaceMapping",
        "metadata": {
            "name": "app",
            "namespace": "dr-syncer",
            "annotations": {"dr-syncer.io/sync-now": "one"},
        },
        "spec": {"sourceCluster": "source", "destinationCluster": "dr", "sourceNamespace": "app"},
    }
    controller_cluster.create(body)
    client = client_from_kubeconfig_dict("controller", controller_cluster.kubeconfig("controller"), None)
    triggered: list[tuple[str, str]] = []
    watcher = SyncNowWatcher(client=client, trigger=lambda key, reason: triggered.append((key, reason)))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        poll(lambda: triggered == [("dr-syncer/app", "sync-now")], timeout=5, interval=0.05)
        objects = CustomObjectsApi(controller_api)

        def change(patch: dict[str, Any]) -> None:
            objects.patch_namespaced_custom_object(
                "dr-syncer.io",
                "v1alpha1",
                "dr-syncer",
                "namespacemappings",
                "app",
                patch,
                _content_type="application/merge-patch+json",
            )

        change({"metadata": {"annotations": {"dr-syncer.io/other": "x"}}})
        change({"metadata": {"labels": {"touched": "yes"}}})
        change({"metadata": {"annotations": {"dr-syncer.io/sync-now": "two"}}})
        poll(lambda: len(triggered) >= 2, timeout=5, interval=0.05)
        change({"metadata": {"labels": {"touched": "again"}}})
        change({"metadata": {"annotations": {"dr-syncer.io/sync-now": "three"}}})
        poll(lambda: len(triggered) >= 3, timeout=5, interval=0.05)
        # edits that change no sync-now value and no spec started nothing in between
        assert triggered == [("dr-syncer/app", "sync-now")] * 3
        stored = controller_cluster.get("dr-syncer.io/v1alpha1", "NamespaceMapping", "app", "dr-syncer")
        assert stored is not None
        assert stored["status"]["lastSyncNowValue"] == "three"
    finally:
        watcher.stop.set()
        thread.join(5)
        client.close()
