"""``drsyncer demo``: the whole product on two sandbox clusters, end to end, in one command.

It starts a source and a DR sandbox cluster (fake API servers with simulated nodes and kubelets; real
``sshd`` + ``rsync`` agents on loopback when PVC data is on), seeds a realistic namespace — a web app
(Deployment, Service, Ingress, ConfigMap, Secret, HPA), a StatefulSet database with a PVC holding files,
and RBAC — writes a file-mode configuration, runs the real namespace-sync flow on Prefect, and prints
what landed in DR. Everything lives in one working directory (a temporary one unless ``--dir``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster, NodeSpec
from drsyncer.sandbox.agent_pods import start_agents_with_pods
from drsyncer.sandbox.agents import AgentSet, cluster_port
from drsyncer.sandbox.config_files import remote_cluster_yaml

NAMESPACE = "shop"
MAPPING = "shop"
CLUSTER_MAPPING = "source-to-dr"
STORAGE_CLASS = "standard"


@dataclass
class DemoClusters:
    """The two running sandbox clusters of the demo, their agents, and where their files are."""

    source: FakeCluster
    dr: FakeCluster
    agents: AgentSet
    workdir: Path
    config_path: Path

    @property
    def key_dir(self) -> Path:
        """The controller's key directory (``DRSYNCER_KEY_DIR``)."""
        return self.agents.work_dir / "controller"

    def stop(self) -> None:
        """Stop the agents (by PID, sessions included) and both clusters."""
        self.agents.stop()
        self.source.close()
        self.dr.close()


def node_specs(workdir: Path, cluster: str, index: int) -> list[NodeSpec]:
    """Two nodes per cluster, each with its own kubelet root and a loopback address of its own."""
    return [
        NodeSpec(
            f"{cluster}-node-{n}", workdir / cluster / f"node-{n}", internal_ip=f"127.0.{index}.{10 + n}"
        )
        for n in (1, 2)
    ]


def start_clusters(workdir: Path) -> DemoClusters:
    """Start the source and DR clusters and write their kubeconfigs and a file-mode config."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = FakeCluster("source", nodes=node_specs(workdir, "source", 101), background=True).start()
    dr = FakeCluster("dr", nodes=node_specs(workdir, "dr", 102), background=True).start()
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
    config_path = workdir / "dr-syncer.yaml"
    config_path.write_text(
        demo_config(source_port=cluster_port(agents, "source"), dr_port=cluster_port(agents, "dr")),
        encoding="utf-8",
    )
    return DemoClusters(source=source, dr=dr, agents=agents, workdir=workdir, config_path=config_path)


def demo_config(*, source_port: int, dr_port: int) -> str:
    """The demo's configuration: two RemoteClusters in file mode, one ClusterMapping, one mapping."""
    source = remote_cluster_yaml("source", "source.kubeconfig", ssh_port=source_port)
    dr = remote_cluster_yaml("dr", "dr.kubeconfig", ssh_port=dr_port)
    return f"""\
{source}---
{dr}---
apiVersion: dr-syncer.io/v1alpha1
kind: ClusterMapping
metadata:
  name: {CLUSTER_MAPPING}
spec:
  sourceCluster: source
  targetCluster: dr
---
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata:
  name: {MAPPING}
spec:
  clusterMappingRef: {{name: {CLUSTER_MAPPING}}}
  sourceNamespace: {NAMESPACE}
  replicationMode: Manual
  pvcConfig:
    syncData: true
    dataSyncConfig:
      verificationMode: full
"""


def _meta(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "shop", **labels}}


def sample_objects() -> list[KubeObject]:
    """A realistic namespace: web app, database with a PVC, RBAC, autoscaling."""
    web_labels = {"app": "web"}
    db_labels = {"app": "db"}
    pod_spec = {
        "serviceAccountName": "web",
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80}],
                "envFrom": [{"configMapRef": {"name": "web-config"}}, {"secretRef": {"name": "web-secret"}}],
            }
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {"team": "shop"},
                "annotations": {"owner": "shop-team"},
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("web", **web_labels)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta("web-reader"),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta("web-reader"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "web-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("web-config", **web_labels),
            "data": {
                "DATABASE_HOST": f"db.{NAMESPACE}.svc.cluster.local",
                "FEATURE_FLAGS": "checkout,search",
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta("web-secret", **web_labels),
            "type": "Opaque",
            "data": {"DATABASE_PASSWORD": base64.b64encode(b"not-a-real-password").decode()},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("web", **web_labels),
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": web_labels},
                "template": {"metadata": {"labels": web_labels}, "spec": pod_spec},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("web", **web_labels),
            "spec": {"selector": web_labels, "ports": [{"name": "http", "port": 80, "targetPort": 80}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                **_meta("web", **web_labels),
                "annotations": {"nginx.ingress.kubernetes.io/ssl-redirect": "true"},
            },
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
                "rules": [
                    {
                        "host": "shop.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta("web"),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 3,
                "maxReplicas": 10,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("db", **db_labels),
            "spec": {"clusterIP": "None", "selector": db_labels, "ports": [{"port": 5432}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _meta("db", **db_labels),
            "spec": {
                "replicas": 1,
                "serviceName": "db",
                "selector": {"matchLabels": db_labels},
                "template": {
                    "metadata": {"labels": db_labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "postgres",
                                "image": "postgres:16",
                                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
                            }
                        ]
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": STORAGE_CLASS,
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
    ]


def seed(cluster: FakeCluster) -> dict[str, int]:
    """Create the sample namespace in ``cluster``, wait for the database pod, write its data files.

    Returns the files written (relative path → size) in the database's volume.
    """
    for obj in sample_objects():
        cluster.create(obj)
    cluster.settle()
    claim = cluster.get("v1", "PersistentVolumeClaim", "data-db-0", NAMESPACE)
    volume = (claim or {}).get("spec", {}).get("volumeName")
    if not volume:
        raise RuntimeError("the demo database claim did not bind in the sandbox")
    root = cluster.kubelet.volume_dir(volume)
    files = {
        "PG_VERSION": b"16\n",
        "base/1/1259": bytes(range(256)) * 64,
        "base/1/2608": b"catalog " * 2048,
        "pg_wal/000000010000000000000001": b"\x00" * 65536,
        "postgresql.conf": b"max_connections = 100\nshared_buffers = 128MB\n",
    }
    written: dict[str, int] = {}
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written[relative] = len(content)
    return written


def dr_volume_files(dr: FakeCluster, namespace: str = NAMESPACE, claim: str = "data-db-0") -> dict[str, int]:
    """Files (relative path → size) in the DR copy of ``claim``'s volume (empty when not bound)."""
    obj = dr.get("v1", "PersistentVolumeClaim", claim, namespace)
    volume = (obj or {}).get("spec", {}).get("volumeName")
    if not volume:
        return {}
    root = dr.kubelet.volume_dir(volume)
    return {
        str(path.relative_to(root)): path.stat().st_size for path in sorted(root.rglob("*")) if path.is_file()
    }


def dr_summary(dr: FakeCluster, namespace: str = NAMESPACE) -> list[tuple[str, str, str]]:
    """What is in the DR namespace: (kind, name, detail) rows for the demo's closing table."""
    rows: list[tuple[str, str, str]] = []
    kinds = [
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("networking.k8s.io/v1", "Ingress"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ]
    for api_version, kind in kinds:
        for obj in dr.objects(api_version, kind, namespace):
            rows.append((kind, obj["metadata"]["name"], _detail(obj)))
    return rows


def _detail(obj: KubeObject) -> str:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if kind in ("Deployment", "StatefulSet"):
        original = annotations.get("dr-syncer.io/original-replicas")
        return f"replicas {spec.get('replicas')} (source had {original})"
    if kind == "Service":
        return f"clusterIP {spec.get('clusterIP')}"
    if kind == "PersistentVolumeClaim":
        size = (spec.get("resources") or {}).get("requests", {}).get("storage")
        return f"{spec.get('storageClassName')}, {size}"
    return ""
