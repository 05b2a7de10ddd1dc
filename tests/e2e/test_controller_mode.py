"""Controller-cluster mode: DR-Syncer's CRs in a controller cluster drive the sync; status goes back there.

A DR-Syncer user's objects, unchanged: RemoteClusters with ``kubeconfigSecretRef`` (kubeconfigs stored in
Secrets of the controller cluster), a ClusterMapping and NamespaceMappings in namespace ``dr-syncer``.
``drsyncer sync --from-cluster --kubeconfig K --mapping NAMESPACE/NAME`` runs as a user runs it.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
CRDS = Path(__file__).resolve().parents[2] / "deployments" / "kubernetes" / "crds"
API = "dr-syncer.io/v1alpha1"


def _install_crds(cluster: FakeCluster) -> None:
    for path in sorted(CRDS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if (
                document
                and cluster.get(document["apiVersion"], document["kind"], document["metadata"]["name"])
                is None
            ):
                cluster.create(document)


def _kubeconfig_secret(name: str, cluster: FakeCluster) -> KubeObject:
    text = yaml.safe_dump(cluster.kubeconfig(cluster.name))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "dr-syncer"},
        "data": {"kubeconfig": base64.b64encode(text.encode()).decode()},
    }


@pytest.fixture
def controller_world(
    controller_cluster: FakeCluster, source_cluster: FakeCluster, dr_cluster: FakeCluster
) -> dict[str, Any]:
    """CRDs, kubeconfig Secrets, RemoteClusters and a ClusterMapping in the controller cluster."""
    _install_crds(controller_cluster)
    controller_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dr-syncer"}})
    for name, cluster in (("prod-kubeconfig", source_cluster), ("dr-kubeconfig", dr_cluster)):
        controller_cluster.create(_kubeconfig_secret(name, cluster))
    for name, secret in (("prod", "prod-kubeconfig"), ("dr", "dr-kubeconfig")):
        controller_cluster.create(
            {
                "apiVersion": API,
                "kind": "RemoteCluster",
                "metadata": {"name": name, "namespace": "dr-syncer"},
                "spec": {"kubeconfigSecretRef": {"name": secret, "namespace": "dr-syncer"}},
            }
        )
    controller_cluster.create(
        {
            "apiVersion": API,
            "kind": "ClusterMapping",
            "metadata": {"name": "prod-to-dr", "namespace": "dr-syncer"},
            "spec": {"sourceCluster": "prod", "targetCluster": "dr"},
        }
    )
    namespace = f"ctl-{uuid.uuid4().hex[:8]}"
    source_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    source_cluster.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"mode": "production"},
        }
    )
    source_cluster.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": namespace},
            "spec": {
                "replicas": 4,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "api:1"}]},
                },
            },
        }
    )
    return {"namespace": namespace}


def _mapping(controller: FakeCluster, name: str, namespace: str, **spec: Any) -> None:
    controller.create(
        {
            "apiVersion": API,
            "kind": "NamespaceMapping",
            "metadata": {"name": name, "namespace": "dr-syncer"},
            "spec": {
                "clusterMappingRef": {"name": "prod-to-dr"},
                "sourceNamespace": namespace,
                "resourceTypes": ["configmaps", "deployments"],
                **spec,
            },
        }
    )


def _sync(env: dict[str, str], kubeconfig: Path, mapping: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in env.items() if key != "KUBECONFIG"}
    return subprocess.run(
        [
            DRSYNCER,
            "sync",
            "--from-cluster",
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            "controller",
            "--mapping",
            mapping,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_sync_from_cluster_copies_objects_and_writes_status(
    controller_world: dict[str, Any],
    controller_cluster: FakeCluster,
    controller_kubeconfig: Path,
    dr_cluster: FakeCluster,
    prefect_api_env: dict[str, str],
) -> None:
    namespace = controller_world["namespace"]
    _mapping(controller_cluster, "api-dr", namespace, schedule="*/10 * * * *")

    result = _sync(prefect_api_env, controller_kubeconfig, "dr-syncer/api-dr")

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["phase"] == "Completed"
    assert dr_cluster.get("v1", "ConfigMap", "settings", namespace)["data"] == {"mode": "production"}
    assert dr_cluster.get("apps/v1", "Deployment", "api", namespace)["spec"]["replicas"] == 0
    status = controller_cluster.get(API, "NamespaceMapping", "api-dr", "dr-syncer")["status"]
    assert status["phase"] == "Completed"
    assert status["lastSyncTime"]
    assert status["nextSyncTime"]
    assert status["syncStats"]["failedSyncs"] == 0
    assert status["syncStats"]["successfulSyncs"] == status["syncStats"]["totalResources"] >= 3
    assert status["syncStats"]["lastSyncDuration"].endswith("s")
    assert {"kind": "ConfigMap", "name": "settings"}.items() <= next(
        entry for entry in status["resourceStatus"] if entry["name"] == "settings"
    ).items()
    assert status["deploymentScales"] == [
        {"name": "api", "originalReplicas": 4, "lastSyncedAt": status["deploymentScales"][0]["lastSyncedAt"]}
    ]
    synced = next(c for c in status["conditions"] if c["type"] == "Synced")
    assert (synced["status"], synced["reason"]) == ("True", "SyncCompleted")


def test_mapping_is_found_by_plain_name_too(
    controller_world: dict[str, Any],
    controller_cluster: FakeCluster,
    controller_kubeconfig: Path,
    prefect_api_env: dict[str, str],
) -> None:
    _mapping(controller_cluster, "by-name", controller_world["namespace"], replicationMode="Manual")

    result = _sync(prefect_api_env, controller_kubeconfig, "by-name")

    assert result.returncode == 0, result.stderr[-3000:]
    status = controller_cluster.get(API, "NamespaceMapping", "by-name", "dr-syncer")["status"]
    assert status["phase"] == "Completed"
    assert "nextSyncTime" not in status


def test_a_failed_sync_is_reported_in_status(
    controller_world: dict[str, Any],
    controller_cluster: FakeCluster,
    controller_kubeconfig: Path,
    prefect_api_env: dict[str, str],
) -> None:
    _mapping(controller_cluster, "missing-ns", "no-such-namespace")

    result = _sync(prefect_api_env, controller_kubeconfig, "dr-syncer/missing-ns")

    assert result.returncode == 1
    assert "no-such-namespace" in json.loads(result.stdout)["error"]
    status = controller_cluster.get(API, "NamespaceMapping", "missing-ns", "dr-syncer")["status"]
    assert status["phase"] == "Failed"
    assert "no-such-namespace" in status["lastError"]["message"]
    synced = next(c for c in status["conditions"] if c["type"] == "Synced")
    assert (synced["status"], synced["reason"]) == ("False", "SyncFailed")


def test_missing_kubeconfig_secret_is_a_clear_error(
    controller_world: dict[str, Any],
    controller_cluster: FakeCluster,
    controller_kubeconfig: Path,
    prefect_api_env: dict[str, str],
) -> None:
    controller_cluster.create(
        {
            "apiVersion": API,
            "kind": "RemoteCluster",
            "metadata": {"name": "ghost", "namespace": "dr-syncer"},
            "spec": {"kubeconfigSecretRef": {"name": "ghost-kubeconfig", "namespace": "dr-syncer"}},
        }
    )
    controller_cluster.create(
        {
            "apiVersion": API,
            "kind": "NamespaceMapping",
            "metadata": {"name": "to-ghost", "namespace": "dr-syncer"},
            "spec": {"sourceCluster": "prod", "destinationCluster": "ghost", "sourceNamespace": "default"},
        }
    )

    result = _sync(prefect_api_env, controller_kubeconfig, "dr-syncer/to-ghost")

    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert "ghost-kubeconfig" in error
    assert "does not exist" in error


def test_continuous_mode_keeps_status_running_with_last_watch_event(
    controller_world: dict[str, Any],
    controller_cluster: FakeCluster,
    controller_kubeconfig: Path,
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
    prefect_server: str,
    tmp_path: Path,
) -> None:
    from tests.e2e.test_continuous import Running, configmap, poll

    namespace = controller_world["namespace"]
    _mapping(
        controller_cluster, "live", namespace, replicationMode="Continuous", resourceTypes=["configmaps"]
    )
    running = Running(
        "dr-syncer/live",
        tmp_path / "unused.yaml",
        controller={"kubeconfig": str(controller_kubeconfig), "context": "controller"},
    )
    try:
        poll(lambda: dr_cluster.get("v1", "ConfigMap", "settings", namespace) is not None, timeout=60)
        source_cluster.create(configmap("late", namespace, {"k": "v"}))
        poll(lambda: dr_cluster.get("v1", "ConfigMap", "late", namespace) is not None, timeout=10)

        def status() -> dict[str, Any]:
            return controller_cluster.get(API, "NamespaceMapping", "live", "dr-syncer").get("status") or {}

        poll(lambda: status().get("phase") == "Running" and "lastWatchEvent" in status(), timeout=10)
    finally:
        running.stop()
    final = status()
    synced = next(c for c in final["conditions"] if c["type"] == "Synced")
    assert synced["status"] == "True"
    assert final["lastSyncTime"]
