"""PVC data through the real namespace-sync flow: sandbox clusters, real sshd + rsync agents, Prefect.

Two background-mode sandbox clusters (two nodes each, every node with its own loopback address and a
real agent) are started once for the module; each test uses fresh namespaces. The flow resolves both
endpoints (placeholder pods where nothing mounts a claim), pulls through the DR agent, and reports bytes
and files per PVC.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drsyncer.demo import DemoClusters, start_clusters
from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.agents import cluster_port
from drsyncer.sandbox.config_files import remote_cluster_yaml
from flows.namespace_sync import namespace_sync
from tests.fixtures.source_writes import SourceWrites

PLACEHOLDER_LABEL = "app.kubernetes.io/component"


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    """Source and DR sandbox clusters with agents on every node; stopped (agents by PID) at the end."""
    started = start_clusters(tmp_path_factory.mktemp("pvc-data"))
    yield started
    started.stop()


def poll(check: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Wait with a deadline until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


@dataclass
class DataWorld:
    """One test's namespace, its config file and helpers over the two clusters."""

    clusters: DemoClusters
    namespace: str
    config: Path
    source_writes: SourceWrites
    """Checked at teardown: the product wrote nothing to the source but placeholder pods."""

    @property
    def source(self) -> FakeCluster:
        return self.clusters.source

    @property
    def dr(self) -> FakeCluster:
        return self.clusters.dr

    def claim(self, name: str, *, node: str | None = None, mounted: bool = True) -> Path:
        """A bound source claim (mounted by a Running pod on ``node`` unless ``mounted=False``)."""
        self.source.create(
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
        pod: KubeObject = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"user-{name}", "namespace": self.namespace},
            "spec": {
                "containers": [
                    {"name": "app", "image": "busybox", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
                ],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": name}}],
                **({"nodeName": node} if node else {}),
            },
        }
        self.source.create(pod)
        poll(lambda: self.phase(self.source, "Pod", pod["metadata"]["name"]) == "Running")
        directory = self.volume(self.source, name)
        if not mounted:
            self.delete_pod(pod["metadata"]["name"])
        return directory

    def delete_pod(self, name: str) -> None:
        from drsyncer.kube.client import object_path
        from drsyncer.kube.connect import client_from_kubeconfig_file

        client = client_from_kubeconfig_file("source", self.clusters.workdir / "source.kubeconfig", "source")
        client.delete(object_path(group="", version="v1", plural="pods", namespace=self.namespace, name=name))
        client.close()
        poll(lambda: self.source.get("v1", "Pod", name, self.namespace) is None)

    def phase(self, cluster: FakeCluster, kind: str, name: str) -> str:
        obj = cluster.get("v1", kind, name, self.namespace) or {}
        return str((obj.get("status") or {}).get("phase", ""))

    def volume(self, cluster: FakeCluster, claim: str) -> Path:
        obj = cluster.get("v1", "PersistentVolumeClaim", claim, self.namespace) or {}
        name = (obj.get("spec") or {}).get("volumeName")
        assert name, f"claim {claim} is not bound in {cluster.name}"
        return cluster.kubelet.volume_dir(str(name))

    def pods(self, cluster: FakeCluster) -> list[KubeObject]:
        return cluster.objects("v1", "Pod", self.namespace)

    def sync(self) -> tuple[Any, dict[str, Any]]:
        with self.source_writes.product_runs():
            state = namespace_sync(mapping="data", config=[str(self.config)], return_state=True)
        result = state.result(raise_on_failure=False)
        assert isinstance(result, dict), result
        return state, result


@pytest.fixture
def world(
    clusters: DemoClusters,
    prefect_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source_writes: Callable[[FakeCluster, str], SourceWrites],
) -> DataWorld:
    """A fresh namespace with a mapping that syncs data (fast retries so failures end quickly)."""
    namespace = f"data-{uuid.uuid4().hex[:8]}"
    clusters.source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(clusters.key_dir))
    workdir = clusters.workdir
    source_port = cluster_port(clusters.agents, "source")
    dr_port = cluster_port(clusters.agents, "dr")
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
metadata: {{name: data}}
spec:
  clusterMappingRef: {{name: source-to-dr}}
  sourceNamespace: {namespace}
  replicationMode: Manual
  resourceTypes: [persistentvolumeclaims]
  retryConfig: {{maxRetries: 1, initialBackoff: 1s, maxBackoff: 1s}}
  pvcConfig:
    syncData: true
    dataSyncConfig: {{verificationMode: full}}
""",
        encoding="utf-8",
    )
    return DataWorld(
        clusters=clusters,
        namespace=namespace,
        config=config,
        source_writes=source_writes(clusters.source, namespace),
    )


def tree(root: Path) -> dict[str, bytes]:
    """Relative path → content of every file below ``root``."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write(root: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_data_of_mounted_and_unmounted_claims_reaches_dr_identically(world: DataWorld) -> None:
    mounted = world.claim("mounted")
    unmounted = world.claim("idle", mounted=False)
    write(mounted, {"a.txt": b"alpha\n", "dir/b.bin": bytes(range(256)) * 40})
    write(unmounted, {"only.txt": b"written while a pod had it\n", "nested/deep/c": b"c" * 5000})

    state, report = world.sync()

    assert state.is_completed(), report
    assert tree(world.volume(world.dr, "mounted")) == tree(mounted)
    assert tree(world.volume(world.dr, "idle")) == tree(unmounted)
    by_name = {pvc["name"]: pvc for pvc in report["pvcs"]}
    assert by_name["mounted"]["status"] == "synced"
    assert by_name["mounted"]["filesTransferred"] == 2
    assert by_name["mounted"]["bytesTransferred"] >= 10240
    assert by_name["idle"]["verification"].startswith("full")


def test_placeholder_pods_are_removed_after_the_sync(world: DataWorld) -> None:
    world.claim("quiet", mounted=False)

    state, _ = world.sync()

    assert state.is_completed()
    for cluster in (world.source, world.dr):
        placeholders = [
            pod
            for pod in world.pods(cluster)
            if (pod["metadata"].get("labels") or {}).get(PLACEHOLDER_LABEL) == "pvc-placeholder"
        ]
        assert placeholders == []


def test_a_resync_moves_only_what_changed(world: DataWorld) -> None:
    source = world.claim("grow")
    write(source, {f"f{i}.bin": bytes([i]) * 20000 for i in range(10)})
    world.sync()

    write(source, {"f3.bin": b"changed" * 100})
    state, report = world.sync()

    assert state.is_completed()
    pvc = report["pvcs"][0]
    assert pvc["filesTransferred"] == 1
    assert pvc["bytesTransferred"] < 20000
    assert tree(world.volume(world.dr, "grow")) == tree(source)


def test_an_empty_source_never_erases_the_dr_copy(world: DataWorld) -> None:
    source = world.claim("precious")
    write(source, {"keep.txt": b"must survive\n"})
    world.sync()
    for path in source.iterdir():
        path.unlink()

    state, report = world.sync()

    assert not state.is_completed()
    pvc = report["pvcs"][0]
    assert pvc["status"] == "failed"
    assert "empty" in pvc["error"].lower()
    assert tree(world.volume(world.dr, "precious")) == {"keep.txt": b"must survive\n"}


def test_a_down_source_agent_fails_its_pvc_while_the_others_complete(world: DataWorld) -> None:
    nodes = [node.name for node in world.source.nodes]
    healthy = world.claim("healthy", node=nodes[1])
    world.claim("stranded", node=nodes[0])
    write(healthy, {"ok.txt": b"fine\n"})
    agent = world.clusters.agents[nodes[0]]
    agent.stop()
    try:
        state, report = world.sync()
    finally:
        agent.start()

    assert not state.is_completed()
    by_name = {pvc["name"]: pvc for pvc in report["pvcs"]}
    assert by_name["healthy"]["status"] == "synced"
    assert by_name["stranded"]["status"] == "failed"
    assert by_name["stranded"]["attempts"] == 2
    assert (
        "connect" in by_name["stranded"]["error"].lower() or "refused" in by_name["stranded"]["error"].lower()
    )
    assert "stranded" in state.message
    assert tree(world.volume(world.dr, "healthy")) == {"ok.txt": b"fine\n"}


def test_continuous_mode_data_job_copies_claims_present_in_both_namespaces(world: DataWorld) -> None:
    from drsyncer.config.loader import load_config
    from flows.continuous import PVC_DATA_SYNC

    source = world.claim("stream")
    write(source, {"v1.txt": b"first\n"})
    world.sync()
    write(source, {"v2.txt": b"second\n"})
    mapping = load_config([world.config]).mapping("data")

    assert PVC_DATA_SYNC is not None
    with world.source_writes.product_runs():
        outcomes = PVC_DATA_SYNC(mapping)

    assert [(o.name, o.status) for o in outcomes] == [("stream", "synced")]  # type: ignore[attr-defined]
    assert tree(world.volume(world.dr, "stream")) == {"v1.txt": b"first\n", "v2.txt": b"second\n"}


def test_each_agents_host_key_is_read_once_per_sync_whatever_the_claims_on_its_node(world: DataWorld) -> None:
    for name in ("k1", "k2", "k3", "k4"):
        write(world.claim(name), {"f.txt": name.encode()})
    for cluster in (world.source, world.dr):
        cluster.audit.clear()

    state, report = world.sync()

    assert state.is_completed(), report
    for cluster in (world.source, world.dr):
        log_reads = [e for e in cluster.audit.requests(path_regex=r"/pods/[^/]+/log$") if e.method == "GET"]
        assert 1 <= len(log_reads) <= 2, [e.path for e in log_reads]  # 4 claims, 2 nodes: one read a node
