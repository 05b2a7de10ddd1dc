"""The scale tier's clusters: a source sandbox cluster with 4 nodes, a DR one with 2, real agents on each.

Both clusters run their controllers in the background (like a real cluster), every node has its own
loopback address and an sshd + rsync agent, and the controller's keys live in ``key_dir``
(``DRSYNCER_KEY_DIR`` of the workers). Namespaces are seeded straight into the source store (no API
round trips): the tier measures dr-syncer, not the seeding.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster, NodeSpec
from drsyncer.sandbox.agent_pods import start_agents_with_pods
from drsyncer.sandbox.agents import AgentSet, cluster_port
from drsyncer.sandbox.config_files import remote_cluster_yaml

CLUSTER_MAPPING = "source-to-dr"
SOURCE_NODES = 4
DR_NODES = 2


@dataclass
class ScaleWorld:
    """The two running clusters, their agents, and where their files are."""

    source: FakeCluster
    dr: FakeCluster
    agents: AgentSet
    workdir: Path

    @property
    def key_dir(self) -> Path:
        return self.agents.work_dir / "controller"

    def clusters_yaml(self) -> str:
        """The two RemoteClusters and the ClusterMapping, for a configuration file in ``workdir``."""
        source = remote_cluster_yaml(
            "source", self.workdir / "source.kubeconfig", ssh_port=cluster_port(self.agents, "source")
        )
        dr = remote_cluster_yaml(
            "dr", self.workdir / "dr.kubeconfig", ssh_port=cluster_port(self.agents, "dr")
        )
        return (
            f"{source}---\n{dr}---\napiVersion: dr-syncer.io/v1alpha1\nkind: ClusterMapping\n"
            f"metadata: {{name: {CLUSTER_MAPPING}}}\nspec: {{sourceCluster: source, targetCluster: dr}}\n"
        )

    def stop(self) -> None:
        self.agents.stop()
        self.source.close()
        self.dr.close()


def _nodes(workdir: Path, cluster: str, count: int, octet: int) -> list[NodeSpec]:
    return [
        NodeSpec(
            f"{cluster}-node-{n}", workdir / cluster / f"node-{n}", internal_ip=f"127.0.{octet}.{10 + n}"
        )
        for n in range(1, count + 1)
    ]


def start_world(workdir: Path) -> ScaleWorld:
    """Start both clusters and their agents; write the kubeconfigs into ``workdir``."""
    source = FakeCluster(
        "source", nodes=_nodes(workdir, "source", SOURCE_NODES, 121), background=True
    ).start()
    dr = FakeCluster("dr", nodes=_nodes(workdir, "dr", DR_NODES, 122), background=True).start()
    try:
        agents = start_agents_with_pods(
            (source, dr),
            [(CLUSTER_MAPPING, "source", "dr")],
            work_dir=workdir / "agents",
        )
    except BaseException:
        source.close()
        dr.close()
        raise
    source.write_kubeconfig(workdir / "source.kubeconfig", "source")
    dr.write_kubeconfig(workdir / "dr.kubeconfig", "dr")
    return ScaleWorld(source=source, dr=dr, agents=agents, workdir=workdir)


def _metadata(name: str, namespace: str, **extra: object) -> dict[str, object]:
    return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": namespace}, **extra}


def seed_objects(cluster: FakeCluster, namespace: str, *, count: int) -> int:
    """``count`` objects of mixed kinds (ConfigMaps, Secrets, Services, ServiceAccounts, Deployments)."""
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    made = 0
    for index in range(count):
        name = f"item-{index:05d}"
        kind = index % 25
        obj: KubeObject
        if kind < 15:
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(name, namespace)}
            obj["data"] = {"index": str(index), "payload": "x" * 200}
        elif kind < 20:
            obj = {"apiVersion": "v1", "kind": "Secret", "metadata": _metadata(name, namespace)}
            obj["data"] = {"token": base64.b64encode(f"value-{index}".encode()).decode()}
        elif kind < 22:
            obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, namespace)}
        elif kind < 24:
            obj = {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(name, namespace)}
            obj["spec"] = {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}
        else:
            labels = {"app": name}
            obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(name, namespace)}
            obj["spec"] = {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
                },
            }
        cluster.create(obj)
        made += 1
    return made


def seed_claims(
    cluster: FakeCluster, namespace: str, *, count: int, files: int = 3, timeout: float = 300
) -> list[Path]:
    """``count`` bound claims spread over the source nodes, each mounted by a Running pod and holding
    ``files`` small files; returns their data directories."""
    nodes = [node.name for node in cluster.nodes]
    for index in range(count):
        name = f"data-{index:04d}"
        annotations = {"volume.kubernetes.io/selected-node": nodes[index % len(nodes)]}
        claim: KubeObject = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _metadata(name, namespace, annotations=annotations),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
        cluster.create(claim)
        pod: KubeObject = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _metadata(f"user-{name}", namespace),
            "spec": {
                "containers": [
                    {"name": "app", "image": "busybox", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}
                ],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": name}}],
            },
        }
        cluster.create(pod)
    deadline = time.monotonic() + timeout
    while True:
        pods = cluster.objects("v1", "Pod", namespace)
        running = [pod for pod in pods if (pod.get("status") or {}).get("phase") == "Running"]
        if len(running) == count:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(running)} of {count} pods Running in {namespace}")
        time.sleep(0.1)
    directories = []
    for index in range(count):
        claim_object = cluster.get("v1", "PersistentVolumeClaim", f"data-{index:04d}", namespace) or {}
        directory = cluster.kubelet.volume_dir(str(claim_object["spec"]["volumeName"]))
        for number in range(files):
            (directory / f"file-{number}.txt").write_text(f"{namespace} {index} {number}\n" * 40)
        directories.append(directory)
    return directories
