"""``drsyncer sandbox up``: run a source and a DR sandbox cluster in the foreground, for kubectl by hand.

Writes into ``--dir``: one kubeconfig with contexts ``source`` and ``dr`` (plus one file per cluster), the
node root directories, and a ready file-mode configuration (``config/clusters.yaml``: two RemoteClusters
with ``spec.kubeconfig {path, context}``, a ClusterMapping and a Manual NamespaceMapping of namespace
``demo``, which is created on the source with a ConfigMap). Prints how to use kubectl, then serves until
Ctrl-C or SIGTERM, and stops cleanly.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
import yaml

if TYPE_CHECKING:  # the sandbox is imported by `sandbox up` only (every command imports this module)
    from drsyncer.sandbox import FakeCluster, NodeSpec

sandbox_app = typer.Typer(
    help="Run sandbox Kubernetes clusters (fake API servers) for trying dr-syncer.", no_args_is_help=True
)

DIR_OPTION = typer.Option(Path(".sandbox"), "--dir", help="Where kubeconfigs, node roots and config go.")
NODES_OPTION = typer.Option(2, "--nodes", min=1, max=9, help="Nodes per cluster.")
BACKGROUND_OPTION = typer.Option(
    True, "--controllers/--no-controllers", help="Run the simulated kubelet, provisioner and controllers."
)


def _nodes(root: Path, cluster: str, index: int, count: int) -> list[NodeSpec]:
    from drsyncer.sandbox import NodeSpec

    return [
        NodeSpec(
            f"{cluster}-node-{n}",
            root / "nodes" / cluster / f"node-{n}",
            internal_ip=f"10.{index}.0.{10 + n}",
            external_ip=f"192.0.2.{index * 10 + n}",
        )
        for n in range(1, count + 1)
    ]


def _merged_kubeconfig(clusters: list[FakeCluster]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for cluster in clusters:
        single = cluster.kubeconfig(cluster.name)
        for key in ("clusters", "users", "contexts"):
            merged[key] += single[key]
    merged["current-context"] = clusters[0].name
    return merged


def file_mode_config(kubeconfig: Path, namespace: str) -> list[dict[str, Any]]:
    """The file-mode configuration documents for the two sandbox clusters."""
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "RemoteCluster",
            "metadata": {"name": name},
            "spec": {"kubeconfig": {"path": str(kubeconfig), "context": name}},
        }
        for name in ("source", "dr")
    ]
    documents.append(
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "ClusterMapping",
            "metadata": {"name": "source-to-dr"},
            "spec": {"sourceCluster": "source", "targetCluster": "dr"},
        }
    )
    documents.append(
        {
            "apiVersion": "dr-syncer.io/v1alpha1",
            "kind": "NamespaceMapping",
            "metadata": {"name": f"{namespace}-manual"},
            "spec": {
                "clusterMappingRef": {"name": "source-to-dr"},
                "sourceNamespace": namespace,
                "replicationMode": "Manual",
            },
        }
    )
    return documents


@sandbox_app.command("up")
def up(
    directory: Path = DIR_OPTION, nodes: int = NODES_OPTION, controllers: bool = BACKGROUND_OPTION
) -> None:
    """Start source and DR sandbox clusters in the foreground; Ctrl-C stops them."""
    from drsyncer.sandbox import FakeCluster

    root = directory.resolve()
    root.mkdir(parents=True, exist_ok=True)
    clusters = [
        FakeCluster(name, nodes=_nodes(root, name, index, nodes), background=controllers)
        for index, name in ((1, "source"), (2, "dr"))
    ]
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for cluster in clusters:
            cluster.start()
            cluster.write_kubeconfig(root / f"{cluster.name}.kubeconfig", cluster.name)
        kubeconfig = root / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(_merged_kubeconfig(clusters), sort_keys=False))
        kubeconfig.chmod(0o600)
        clusters[0].create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        clusters[0].create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "hello", "namespace": "demo", "labels": {"app": "hello"}},
                "data": {"greeting": "hello from the source cluster"},
            }
        )
        config_dir = root / "config"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "clusters.yaml").write_text(
            yaml.safe_dump_all(file_mode_config(kubeconfig, "demo"), sort_keys=False)
        )
        for cluster in clusters:
            typer.echo(f"{cluster.name:7} {cluster.url}  (nodes under {root / 'nodes' / cluster.name})")
        typer.echo(
            f"\nkubeconfig: {kubeconfig} (contexts: source, dr)\n"
            f"config:     {config_dir}\n\n"
            f"  export KUBECONFIG={kubeconfig}\n"
            "  kubectl --context source get namespaces\n"
            "  kubectl --context source -n demo get configmaps -l app=hello\n"
            "  kubectl --context source apply --validate=false -f my-deployment.yaml\n"
            "  kubectl --context source -n demo scale deployment/web --replicas=0\n"
            "  kubectl --context dr get namespaces\n"
            f"  drsyncer validate {config_dir}\n\n"
            "kubectl needs --validate=false for apply/create (no OpenAPI is served). Ctrl-C stops.",
        )
        stopping.wait()
    finally:
        for cluster in clusters:
            cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        typer.echo("sandbox stopped", err=True)
