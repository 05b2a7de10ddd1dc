"""A StatefulSet with ``whenScaled: Delete`` (KEP-1847, GA 1.32) through the real cutover and failback.

Scaling such a StatefulSet down hands each removed ordinal's claim to its pod, and the garbage collector
deletes the claim with the pod. Cutover stops the source before its final data copy, failback stops DR
before copying DR's changes back: each would delete the claims it is about to copy. Through the real
flows, sandbox clusters running the claim-retention controller, and real sshd + rsync agents: the claims
survive, the data moves both ways, and both sides end with the user's own policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drsyncer import labels
from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from drsyncer.sandbox.agents import cluster_port
from drsyncer.sandbox.config_files import remote_cluster_yaml
from tests.api.sync.conftest import MAPPING, unique_namespace
from tests.e2e.test_dr_operations import TIMEOUTS, DataClusters, data_clusters, poll

__all__ = ["data_clusters"]  # the module fixture of the DR data tests: clusters with agents both ways

CLAIM = "data-db-0"


def _config(clusters: DataClusters, namespace: str, path: Path) -> list[str]:
    def remote(name: str) -> str:
        kubeconfig = clusters.workdir / f"{name}.kubeconfig"
        return remote_cluster_yaml(name, kubeconfig, ssh_port=cluster_port(clusters.agents, name))

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
  resourceTypes: [persistentvolumeclaims, statefulsets]
  retryConfig: {{maxRetries: 1, initialBackoff: 1s, maxBackoff: 1s}}
  pvcConfig: {{syncData: true}}
""",
        encoding="utf-8",
    )
    return [str(path)]


def _statefulset(namespace: str) -> KubeObject:
    """One replica whose claims go with their pod when scaled down (whenScaled: Delete)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:17"}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "standard",
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


def _claim_uid(cluster: FakeCluster, namespace: str) -> str | None:
    claim = cluster.get("v1", "PersistentVolumeClaim", CLAIM, namespace)
    return None if claim is None else str(claim["metadata"]["uid"])


def _volume(cluster: FakeCluster, namespace: str) -> Path:
    claim = cluster.get("v1", "PersistentVolumeClaim", CLAIM, namespace) or {}
    name = (claim.get("spec") or {}).get("volumeName")
    assert name, f"claim {CLAIM} is not bound in {cluster.name}"
    return cluster.kubelet.volume_dir(str(name))


def _files(cluster: FakeCluster, namespace: str) -> dict[str, bytes]:
    root = _volume(cluster, namespace)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _write(cluster: FakeCluster, namespace: str, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        (_volume(cluster, namespace) / relative).write_bytes(content)


def _ready(cluster: FakeCluster, namespace: str) -> bool:
    found = cluster.get("apps/v1", "StatefulSet", "db", namespace) or {}
    return int((found.get("status") or {}).get("readyReplicas", 0)) == 1


def _policy(cluster: FakeCluster, namespace: str) -> tuple[str, str | None]:
    """``whenScaled`` and the operations' record of it (``None``: no record left)."""
    found = cluster.get("apps/v1", "StatefulSet", "db", namespace)
    assert found is not None, f"StatefulSet db missing in {cluster.name}"
    annotations = found["metadata"].get("annotations") or {}
    when = found["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"]
    return str(when), annotations.get(labels.ORIGINAL_WHEN_SCALED)


def _step_detail(document: dict[str, Any], step: str) -> str:
    return str(next(s["detail"] for s in document["steps"] if s["step"] == step))


def _completed(state: Any) -> dict[str, Any]:
    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document
    assert state.is_completed(), document
    return document


def test_when_scaled_delete_claims_survive_cutover_and_failback_with_their_data(
    data_clusters: DataClusters, prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.dr_operations import cutover, failback, stage

    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(data_clusters.agents.work_dir / "controller"))
    source, dr = data_clusters.source, data_clusters.dr
    namespace = unique_namespace("retain")
    source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    source.create(_statefulset(namespace))
    poll(lambda: _ready(source, namespace), timeout=15)
    config = _config(data_clusters, namespace, tmp_path / "config.yaml")
    _write(source, namespace, {"base.bin": b"tuples" * 10_000, "state.txt": b"v1\n"})
    _completed(stage(mapping=MAPPING, config=config, migrate_pvc_data=True, return_state=True))
    assert _policy(dr, namespace) == ("Delete", None)  # the DR copy carries the source's policy
    source_claim = _claim_uid(source, namespace)
    _write(source, namespace, {"state.txt": b"v2 written after the stage\n"})

    document = _completed(cutover(mapping=MAPPING, config=config, yes=True, return_state=True, **TIMEOUTS))

    assert _claim_uid(source, namespace) == source_claim, "the source claim went with its pod"
    assert _files(dr, namespace)["state.txt"] == b"v2 written after the stage\n"
    assert _files(dr, namespace) == _files(source, namespace)
    assert "claims kept (whenScaled Delete → Retain)" in _step_detail(document, "stop-source")
    assert _ready(dr, namespace)
    assert _policy(source, namespace) == ("Delete", None)
    assert _policy(dr, namespace) == ("Delete", None)

    dr_claim = _claim_uid(dr, namespace)
    _write(dr, namespace, {"state.txt": b"v3 written in DR\n"})
    refused = stage(mapping=MAPPING, config=config, return_state=True).result(raise_on_failure=False)
    assert isinstance(refused, dict), refused

    assert refused["phase"] == "Refused", refused  # staging a live DR would scale it to 0 with Delete
    assert "StatefulSet/db: 1 replicas running, whenScaled Delete" in refused["error"]
    assert _ready(dr, namespace)
    assert _claim_uid(dr, namespace) == dr_claim

    document = _completed(failback(mapping=MAPPING, config=config, yes=True, return_state=True, **TIMEOUTS))

    assert _claim_uid(dr, namespace) == dr_claim, "the DR claim went with its pod"
    assert _files(source, namespace)["state.txt"] == b"v3 written in DR\n"
    assert _files(source, namespace) == _files(dr, namespace)
    assert "claims kept (whenScaled Delete → Retain)" in _step_detail(document, "stop-dr")
    assert _ready(source, namespace)
    assert _policy(source, namespace) == ("Delete", None)
    assert _policy(dr, namespace) == ("Delete", None)


def _hold_pod(cluster: FakeCluster, namespace: str, *, held: bool) -> None:
    """Put (or take off) a finalizer on ``db-0``: a pod that does not go when the side stops."""
    pod = cluster.get("v1", "Pod", "db-0", namespace)
    assert pod is not None, "pod db-0 is gone"
    pod["metadata"]["finalizers"] = ["example.com/hold"] if held else []
    pods = cluster.registry.by_kind("v1", "Pod")
    assert pods is not None
    cluster.api.update_internal(pods, pod, manager="test")


def test_a_cutover_that_stops_early_leaves_retain_and_the_rollback_restores_delete(
    data_clusters: DataClusters, prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.dr_operations import cutover, failback, stage

    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(data_clusters.agents.work_dir / "controller"))
    source = data_clusters.source
    namespace = unique_namespace("retain")
    source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    source.create(_statefulset(namespace))
    poll(lambda: _ready(source, namespace), timeout=15)
    config = _config(data_clusters, namespace, tmp_path / "config.yaml")
    _write(source, namespace, {"state.txt": b"v1\n"})
    _completed(stage(mapping=MAPPING, config=config, migrate_pvc_data=True, return_state=True))
    source_claim = _claim_uid(source, namespace)
    _hold_pod(source, namespace, held=True)

    state = cutover(mapping=MAPPING, config=config, yes=True, return_state=True, stop_timeout_seconds=3)
    document = state.result(raise_on_failure=False)
    assert isinstance(document, dict), document

    assert document["phase"] == "Failed", document
    assert document["steps"][-1]["step"] == "wait-source-stopped"
    assert _policy(source, namespace) == ("Retain", "Delete")  # the safe state, with the record
    _hold_pod(source, namespace, held=False)
    poll(lambda: source.get("v1", "Pod", "db-0", namespace) is None, timeout=10)
    assert _claim_uid(source, namespace) == source_claim

    rollback = failback(
        mapping=MAPPING, config=config, yes=True, copy_back=False, return_state=True, **TIMEOUTS
    )
    document = _completed(rollback)

    assert "StatefulSet/db: whenScaled Delete restored" in _step_detail(document, "start-source")
    assert _policy(source, namespace) == ("Delete", None)
    assert _ready(source, namespace)
    assert _claim_uid(source, namespace) == source_claim
    assert _files(source, namespace) == {"state.txt": b"v1\n"}
