"""``drsyncer exporter`` and ``drsyncer status`` after real syncs: sandbox clusters, real sshd + rsync
agents, the session's Prefect server.

The syncs run in this test process (the namespace-sync flow) or the CLI, the exporter in a subprocess of
its own that only talks to the Prefect API (and the agents, and in controller mode the CRs) — so what it
serves comes from Prefect, whoever ran the sync. The exposition is parsed with ``prometheus_client.parser``.
Also: a port in use, Prefect going away and coming back, nothing served before a first read.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drsyncer import __version__
from drsyncer.demo import DemoClusters, start_clusters
from drsyncer.metrics.collector import METRIC_NAMES
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.agents import cluster_port
from drsyncer.sandbox.config_files import remote_cluster_yaml
from flows.namespace_sync import namespace_sync
from tests.e2e import test_controller_mode as controller_mode

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
controller_world = controller_mode.controller_world  # the controller-mode tests' fixture: CRs and Secrets
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    """Source and DR sandbox clusters with a real agent on every node; stopped (by PID) at the end."""
    started = start_clusters(tmp_path_factory.mktemp("metrics"))
    yield started
    started.stop()


def poll(check: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> None:
    """Wait with a deadline until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> Samples:
    """Every sample of ``/metrics``, parsed by prometheus_client's own parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample ``name{labels}`` or None."""
    return samples.get((name, frozenset(labels.items())))


@dataclass
class MetricsWorld:
    """One test's namespace, mapping, config file and exporter process."""

    clusters: DemoClusters
    namespace: str
    mapping: str
    config: Path

    def volume(self, claim: str, *, dr: bool = False) -> Path:
        cluster = self.clusters.dr if dr else self.clusters.source
        obj = cluster.get("v1", "PersistentVolumeClaim", claim, self.namespace) or {}
        name = (obj.get("spec") or {}).get("volumeName")
        assert name, f"claim {claim} is not bound"
        return cluster.kubelet.volume_dir(str(name))

    def claim(self, name: str) -> Path:
        """A bound source claim mounted by a Running pod; returns its volume directory."""
        self.clusters.source.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "standard",
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"user-{name}", "namespace": self.namespace},
            "spec": {
                "containers": [
                    {"name": "a", "image": "busybox", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
                ],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": name}}],
            },
        }
        self.clusters.source.create(pod)

        def running() -> bool:
            found = self.clusters.source.get("v1", "Pod", f"user-{name}", self.namespace) or {}
            return (found.get("status") or {}).get("phase") == "Running"

        poll(running, timeout=10)
        return self.volume(name)

    def sync(self) -> tuple[Any, dict[str, Any], float]:
        """Run the flow in this process; return its state, report and the run's start (epoch seconds)."""
        from prefect import get_client

        state = namespace_sync(mapping=self.mapping, config=[str(self.config)], return_state=True)
        report = state.result(raise_on_failure=False)
        assert isinstance(report, dict), report
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(state.state_details.flow_run_id)
        assert run.start_time is not None
        return state, report, run.start_time.timestamp()


@pytest.fixture
def world(
    clusters: DemoClusters, prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> MetricsWorld:
    """A fresh namespace and a Scheduled mapping (every 5 minutes) that syncs objects and PVC data."""
    namespace = f"metrics-{uuid.uuid4().hex[:8]}"
    clusters.source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(clusters.key_dir))
    workdir = clusters.workdir
    source_port, dr_port = cluster_port(clusters.agents, "source"), cluster_port(clusters.agents, "dr")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""\
{remote_cluster_yaml("source", workdir / "source.kubeconfig", ssh_port=source_port)}---
{remote_cluster_yaml("dr", workdir / "dr.kubeconfig", ssh_port=dr_port)}---
apiVersion: dr-syncer.io/v1alpha1
kind: ClusterMapping
metadata: {{name: source-to-dr}}
spec: {{sourceCluster: source, targetCluster: dr}}
---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: {{name: {namespace}}}
spec:
  clusterMappingRef: {{name: source-to-dr}}
  sourceNamespace: {namespace}
  schedule: "*/5 * * * *"
  resourceTypes: [configmaps, services, persistentvolumeclaims]
  retryConfig: {{maxRetries: 1, initialBackoff: 1s, maxBackoff: 1s}}
  pvcConfig: {{syncData: true}}
""",
        encoding="utf-8",
    )
    return MetricsWorld(clusters=clusters, namespace=namespace, mapping=namespace, config=config)


@pytest.fixture
def exporter(world: MetricsWorld, prefect_api_env: dict[str, str]) -> Iterator[int]:
    """``drsyncer exporter CONFIG --probe-agents`` in a subprocess (refresh every second); yields its port."""
    port = free_port()
    env = dict(prefect_api_env, DRSYNCER_KEY_DIR=str(world.clusters.key_dir))
    process = subprocess.Popen(
        [
            DRSYNCER,
            "exporter",
            str(world.config),
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--refresh-seconds",
            "1",
            "--probe-agents",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def _scraped(port: int, check: Callable[[Samples], bool], *, timeout: float = 90) -> Samples:
    """Scrape until ``check`` holds for the samples (the exporter refreshes once a second)."""
    found: list[Samples] = []

    def ready() -> bool:
        try:
            samples = scrape(port)
        except OSError:
            return False
        found[:] = [samples]
        return check(samples)

    poll(ready, timeout=timeout, interval=0.5)
    return found[0]


def test_exporter_serves_rpo_bytes_failures_and_agents_after_real_syncs(
    world: MetricsWorld, exporter: int
) -> None:
    mapping = world.mapping
    volume = world.claim("data")
    (volume / "a.txt").write_bytes(b"alpha\n" * 1000)
    (volume / "b.bin").write_bytes(bytes(range(256)) * 40)
    world.clusters.source.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": world.namespace}}
    )

    first_state, first, first_start = world.sync()
    assert first_state.is_completed(), first

    samples = _scraped(
        exporter,
        lambda s: (
            value(s, "drsyncer_sync_duration_seconds_count", mapping=mapping, stage="data") == 1
            and value(s, "drsyncer_agent_up", cluster="dr", node="dr-node-1") is not None
        ),
    )
    where = {"mapping": mapping, "source": "source", "destination": "dr"}
    assert value(samples, "drsyncer_exporter_up") == 1
    assert value(
        samples, "drsyncer_last_success_timestamp_seconds", **where, stage="objects"
    ) == pytest.approx(first_start, abs=0.01)
    assert value(samples, "drsyncer_last_success_timestamp_seconds", **where, stage="data") == pytest.approx(
        first_start, abs=0.01
    )
    rpo = value(samples, "drsyncer_rpo_seconds", mapping=mapping, stage="objects")
    assert rpo is not None
    assert 0 <= rpo < time.time() - first_start + 5
    assert value(samples, "drsyncer_rpo_objective_seconds", mapping=mapping) == 600  # 2 x */5
    assert value(samples, "drsyncer_pvc_last_success_timestamp_seconds", mapping=mapping, pvc="data") == (
        pytest.approx(first_start, abs=0.01)
    )
    pvc = first["pvcs"][0]
    assert (
        value(samples, "drsyncer_pvc_bytes_transferred_total", mapping=mapping, pvc="data")
        == pvc["bytesTransferred"]
    )
    assert pvc["bytesTransferred"] >= 6000 + 10240
    assert value(samples, "drsyncer_pvc_files_transferred_total", mapping=mapping, pvc="data") == 2
    assert (
        value(samples, "drsyncer_objects", mapping=mapping, outcome="created") == first["counts"]["created"]
    )
    assert first["counts"]["created"] >= 3  # namespace, ConfigMap, PVC
    for reason in ("error", "objects", "data", "crashed"):
        assert value(samples, "drsyncer_sync_failures_total", mapping=mapping, reason=reason) == 0
    assert value(samples, "drsyncer_mapping_paused", mapping=mapping) == 0
    assert value(samples, "drsyncer_agent_up", cluster="dr", node="dr-node-1") == 1
    assert value(samples, "drsyncer_agent_up", cluster="dr", node="dr-node-2") == 1
    served = {name for name, _ in samples}
    for name in METRIC_NAMES:
        assert any(s == name or s.startswith(f"{name}_") for s in served), f"{name} not served"
    for _, labels in samples:
        for _, label_value in labels:
            assert "127.0." not in label_value, labels  # no host in a label
            assert "kubeconfig" not in label_value, labels

    # A failed run: one object cannot be applied in DR (its nodePort is taken there); the data still copies.
    world.clusters.dr.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{mapping}-x"}})
    world.clusters.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": f"{mapping}-x"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30457}]},
        }
    )
    world.clusters.source.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": world.namespace},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30457}]},
        }
    )
    (volume / "c.txt").write_bytes(b"written after the first sync\n")
    second_state, second, second_start = world.sync()
    assert not second_state.is_completed(), second
    assert second["pvcs"][0]["status"] == "synced"

    samples = _scraped(
        exporter,
        lambda s: value(s, "drsyncer_sync_failures_total", mapping=mapping, reason="objects") == 1,
        timeout=30,
    )
    assert value(
        samples, "drsyncer_last_success_timestamp_seconds", **where, stage="objects"
    ) == pytest.approx(first_start, abs=0.01)
    assert value(samples, "drsyncer_last_success_timestamp_seconds", **where, stage="data") == pytest.approx(
        second_start, abs=0.01
    )
    assert value(samples, "drsyncer_sync_consecutive_failures", mapping=mapping) == 1
    assert value(samples, "drsyncer_objects", mapping=mapping, outcome="failed") == 1
    assert value(samples, "drsyncer_pvc_bytes_transferred_total", mapping=mapping, pvc="data") == (
        first["pvcs"][0]["bytesTransferred"] + second["pvcs"][0]["bytesTransferred"]
    )
    assert value(samples, "drsyncer_pvc_files_transferred_total", mapping=mapping, pvc="data") == 3
    assert value(samples, "drsyncer_sync_duration_seconds_count", mapping=mapping, stage="objects") == 2

    # An agent that stops answering is reported down within a refresh or two.
    agent = world.clusters.agents["dr-node-1"]
    agent.stop()
    try:
        _scraped(
            exporter, lambda s: value(s, "drsyncer_agent_up", cluster="dr", node="dr-node-1") == 0, timeout=30
        )
    finally:
        agent.start()
    _scraped(
        exporter, lambda s: value(s, "drsyncer_agent_up", cluster="dr", node="dr-node-1") == 1, timeout=30
    )


def test_a_metrics_port_in_use_is_one_clear_error(
    world: MetricsWorld, prefect_api_env: dict[str, str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = subprocess.run(
            [DRSYNCER, "exporter", str(world.config), "--port", str(port), "--address", "127.0.0.1"],
            env=prefect_api_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert f"metrics port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_while_prefect_is_unreachable_the_last_values_stay_with_exporter_up_0(world: MetricsWorld) -> None:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.settings import PREFECT_API_URL

    from drsyncer.config.loader import load_config
    from drsyncer.metrics.exporter import Exporter, MappingTarget, start_metrics_server

    world.clusters.source.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": world.namespace}}
    )
    state, _, started = world.sync()
    assert state.is_completed()
    api = {"url": str(PREFECT_API_URL.value())}
    mapping = load_config([world.config]).mapping(world.mapping)
    exporter = Exporter([MappingTarget(mapping)], client_factory=lambda: SyncPrefectClient(api["url"]))
    server = start_metrics_server(exporter, port=0, address="127.0.0.1", interval=0.2)
    objects = {"mapping": world.mapping, "source": "source", "destination": "dr", "stage": "objects"}
    try:
        before = _scraped(
            server.port,
            lambda s: value(s, "drsyncer_last_success_timestamp_seconds", **objects) is not None,
            timeout=30,
        )
        assert value(before, "drsyncer_exporter_up") == 1

        api["url"] = f"http://127.0.0.1:{free_port()}/api"  # Prefect goes away
        after = _scraped(server.port, lambda s: value(s, "drsyncer_exporter_up") == 0, timeout=30)

        assert value(after, "drsyncer_last_success_timestamp_seconds", **objects) == pytest.approx(
            started, abs=0.01
        )
        rpo_before = value(before, "drsyncer_rpo_seconds", mapping=world.mapping, stage="objects")
        rpo_after = value(after, "drsyncer_rpo_seconds", mapping=world.mapping, stage="objects")
        assert rpo_before is not None
        assert rpo_after is not None
        assert rpo_after > rpo_before  # RPO keeps growing from the last known success
        assert value(after, "drsyncer_rpo_objective_seconds", mapping=world.mapping) == 600

        api["url"] = str(PREFECT_API_URL.value())  # and comes back
        _scraped(server.port, lambda s: value(s, "drsyncer_exporter_up") == 1, timeout=30)
    finally:
        server.stop()


def _status_config(world: MetricsWorld, path: Path, objectives: dict[str, str]) -> Path:
    """A config with one objects-only mapping per ``{suffix: rpo objective}`` from the world's namespace."""
    workdir = world.clusters.workdir
    documents = [
        remote_cluster_yaml("source", workdir / "source.kubeconfig"),
        remote_cluster_yaml("dr", workdir / "dr.kubeconfig"),
    ]
    documents += [
        f"""\
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata:
  name: {world.namespace}-{suffix}
  annotations: {{dr-syncer.io/rpo-objective: "{objective}"}}
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: {world.namespace}
  destinationNamespace: {world.namespace}-{suffix}
  resourceTypes: [configmaps]
"""
        for suffix, objective in objectives.items()
    ]
    path.write_text("---\n".join(documents), encoding="utf-8")
    return path


def test_status_shows_rpo_per_stage_and_exits_1_when_a_mapping_breaks_its_objective(
    world: MetricsWorld, prefect_api_env: dict[str, str], tmp_path: Path
) -> None:
    world.clusters.source.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": world.namespace}}
    )
    both = _status_config(world, tmp_path / "both.yaml", {"ok": "1h", "late": "1s"})
    for suffix in ("ok", "late"):
        state = namespace_sync(mapping=f"{world.namespace}-{suffix}", config=[str(both)], return_state=True)
        assert state.is_completed()

    # The late mapping's objective (1s) is shorter than the time since its sync started: status exits 1.
    result = subprocess.run(
        [DRSYNCER, "status", str(both), "--output", "json"],
        env=prefect_api_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    by_mapping = {item["mapping"]: item for item in json.loads(result.stdout)}
    late, ok = by_mapping[f"{world.namespace}-late"], by_mapping[f"{world.namespace}-ok"]
    assert late["breaksObjective"] is True
    assert late["rpo"]["objects"]["breaksObjective"] is True
    assert late["rpo"]["objects"]["seconds"] > 1
    assert late["rpoObjectiveSeconds"] == 1
    assert ok["breaksObjective"] is False
    assert ok["rpoObjectiveSeconds"] == 3600
    assert 0 < ok["rpo"]["objects"]["seconds"] < 3600
    assert ok["rpo"]["objects"]["lastSuccessStart"] is not None
    assert "data" not in ok["rpo"]  # no PVC data sync for this mapping
    assert ok["lastState"] == "Completed (not deployed)"

    # Only the healthy mapping: exit 0, and the table shows its RPO and objective.
    only_ok = _status_config(world, tmp_path / "ok.yaml", {"ok": "1h"})
    table = subprocess.run(
        [DRSYNCER, "status", str(only_ok)],
        env=dict(prefect_api_env, COLUMNS="300"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert table.returncode == 0, table.stderr[-2000:]
    assert f"{world.namespace}-ok" in table.stdout
    assert "RPO objects" in table.stdout
    assert "1h 0m" in table.stdout  # the objective


def test_before_a_first_read_of_prefect_no_mapping_series_are_served(tmp_path: Path) -> None:
    from prefect.client.orchestration import SyncPrefectClient

    from drsyncer.config import SourcedDocument, load_documents
    from drsyncer.metrics.exporter import Exporter, MappingTarget, start_metrics_server
    from tests.unit.config.factories import namespace_mapping, two_clusters

    config = load_documents([SourcedDocument(body) for body in [*two_clusters(), namespace_mapping("web")]])
    dead = f"http://127.0.0.1:{free_port()}/api"
    exporter = Exporter(
        [MappingTarget(config.mapping("web"))], client_factory=lambda: SyncPrefectClient(dead)
    )

    assert not exporter.refresh()

    server = start_metrics_server(exporter, port=0, address="127.0.0.1", interval=60)
    try:
        samples = scrape(server.port)
    finally:
        server.stop()
    assert value(samples, "drsyncer_exporter_up") == 0
    assert value(samples, "drsyncer_info", version=__version__) == 1
    assert not [name for name, labels in samples if dict(labels).get("mapping")]


def test_controller_mode_exporter_reads_mappings_from_the_crs(
    controller_world: dict[str, Any],
    controller_cluster: FakeCluster,
    controller_kubeconfig: Path,
    prefect_api_env: dict[str, str],
) -> None:
    name = f"exp-{uuid.uuid4().hex[:8]}"
    controller_mode._mapping(controller_cluster, name, controller_world["namespace"], schedule="*/10 * * * *")
    synced = controller_mode._sync(prefect_api_env, controller_kubeconfig, f"dr-syncer/{name}")
    assert synced.returncode == 0, synced.stderr[-2000:]
    started = json.loads(synced.stdout)["startedAt"]

    port = free_port()
    command = [DRSYNCER, "exporter", "--from-cluster", "--kubeconfig", str(controller_kubeconfig)]
    command += [
        "--context",
        "controller",
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--refresh-seconds",
        "1",
    ]
    process = subprocess.Popen(
        command,
        env=prefect_api_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        samples = _scraped(
            port,
            lambda s: value(s, "drsyncer_sync_duration_seconds_count", mapping=name, stage="objects") == 1,
        )
    finally:
        process.terminate()
        process.wait(timeout=20)
    success = value(
        samples, "drsyncer_last_success_timestamp_seconds", mapping=name, source="prod", destination="dr",
        stage="objects",
    )  # fmt: skip
    assert success is not None
    # The run started (Prefect's start) no later than the report's own start stamp (second resolution).
    assert success <= datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp() + 1
    assert value(samples, "drsyncer_rpo_objective_seconds", mapping=name) == 1200
    assert value(samples, "drsyncer_mapping_paused", mapping=name) == 0


def test_a_data_only_run_moves_the_data_rpo_and_not_the_objects_rpo(
    world: MetricsWorld, exporter: int
) -> None:
    from prefect import get_client

    from drsyncer.config.loader import load_config
    from flows.data_stage import mapping_data_sync

    volume = world.claim("data")
    (volume / "a.txt").write_bytes(b"first\n")
    state, _, first_start = world.sync()
    assert state.is_completed()
    (volume / "b.txt").write_bytes(b"written for the data cadence\n")
    mapping = load_config([world.config]).mapping(world.mapping)

    data_state = mapping_data_sync(mapping, mapping.key, return_state=True)  # continuous mode's data cadence
    assert data_state.is_completed()
    run_id = data_state.state_details.flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    assert run.start_time is not None
    data_start = run.start_time.timestamp()

    where = {"mapping": world.mapping, "source": "source", "destination": "dr"}
    samples = _scraped(
        exporter,
        lambda s: (
            value(s, "drsyncer_last_success_timestamp_seconds", **where, stage="data")
            == pytest.approx(data_start, abs=0.01)
        ),
    )
    assert value(samples, "drsyncer_last_success_timestamp_seconds", **where, stage="objects") == (
        pytest.approx(first_start, abs=0.01)
    )
    assert value(samples, "drsyncer_pvc_files_transferred_total", mapping=world.mapping, pvc="data") == 2
    assert value(samples, "drsyncer_sync_duration_seconds_count", mapping=world.mapping, stage="objects") == 1
    assert value(samples, "drsyncer_sync_duration_seconds_count", mapping=world.mapping, stage="data") == 2
