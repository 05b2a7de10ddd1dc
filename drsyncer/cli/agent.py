"""``drsyncer agent render CONFIG... --cluster NAME``: print the node agent's manifests for one cluster.

Reads the RemoteCluster's ``pvcSync`` (port, image, nodeSelector, tolerations, resources, priority class,
labels, annotations) and prints multi-document YAML (Namespace, ServiceAccount, DaemonSet) from
:mod:`agent.manifests`. Nothing is contacted. (``agent install`` — server-side apply and waiting for the
DaemonSet — comes with the kube client layer.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from agent.manifests import AgentSettings, render_agent_manifests
from drsyncer.cli.output import stderr, user_errors
from drsyncer.config import load_config
from drsyncer.config.remote_cluster import RemoteCluster
from drsyncer.errors import UsageError
from drsyncer.settings import load_settings

agent_app = typer.Typer(help="The node agent (sshd + rsync DaemonSet) of a cluster.", no_args_is_help=True)

CONFIG_ARGUMENT = typer.Argument(..., help="Config files or directories.", show_default=False)
CLUSTER_OPTION = typer.Option(..., "--cluster", help="RemoteCluster name (or namespace/name).")


def find_remote_cluster(clusters: list[RemoteCluster], name: str) -> RemoteCluster:
    """The RemoteCluster called ``name`` or ``namespace/name``; a UsageError names the known ones."""
    found = [c for c in clusters if name in (c.metadata.name, f"{c.metadata.namespace}/{c.metadata.name}")]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{c.metadata.namespace}/{c.metadata.name}" for c in clusters) or "none"
    raise UsageError(f"no single RemoteCluster {name!r} in the configuration", fix=f"known clusters: {known}")


def agent_settings(cluster: RemoteCluster, *, default_image: str) -> AgentSettings:
    """Map a RemoteCluster's ``pvcSync`` onto :class:`AgentSettings`."""
    pvc_sync = cluster.spec.pvc_sync
    if pvc_sync is None:
        return AgentSettings(cluster=cluster.metadata.name, image=default_image)
    deployment = pvc_sync.deployment
    image = default_image
    pull_policy = "IfNotPresent"
    if pvc_sync.image is not None:
        if pvc_sync.image.repository:
            image = f"{pvc_sync.image.repository}:{pvc_sync.image.tag or 'latest'}"
        pull_policy = str(pvc_sync.image.pull_policy.value)
    resources: dict[str, Any] | None = None
    if deployment.resources is not None:
        resources = {k: v for k, v in deployment.resources.model_dump(by_alias=True).items() if v}
    return AgentSettings(
        cluster=cluster.metadata.name,
        image=image,
        image_pull_policy=pull_policy,
        ssh_port=pvc_sync.ssh.port,
        node_selector=dict(deployment.node_selector),
        tolerations=[dict(t) for t in deployment.tolerations],
        resources=resources or None,
        priority_class_name=deployment.priority_class_name,
        labels=dict(deployment.labels),
        annotations=dict(deployment.annotations),
    )


@agent_app.command("render")
def render(paths: list[Path] = CONFIG_ARGUMENT, cluster: str = CLUSTER_OPTION) -> None:
    """Print the agent's Kubernetes manifests for one cluster as YAML (nothing is contacted)."""
    with user_errors():
        config = load_config(paths)
        remote = find_remote_cluster([c for c, _ in config.remote_clusters], cluster)
        settings = agent_settings(remote, default_image=load_settings().agent_image)
    if not remote.spec.data_sync_enabled:
        stderr.print(
            f"[yellow]warning:[/] pvcSync is not enabled for RemoteCluster {remote.metadata.name}",
            highlight=False,
        )
    sys.stdout.write(yaml.safe_dump_all(render_agent_manifests(settings), sort_keys=False))
