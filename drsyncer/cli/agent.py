"""``drsyncer agent render CONFIG... --cluster NAME``: print the node agent's manifests for one cluster.

Reads the RemoteCluster's ``pvcSync`` (port, image, nodeSelector, tolerations, resources, priority class,
labels, annotations) and prints multi-document YAML (Namespace, ServiceAccount, DaemonSet) from
:mod:`agent.manifests`. Nothing is contacted.

``drsyncer agent install CONFIG... --cluster NAME [--key-dir DIR] [--timeout S] [--dry-run]``: the same
objects plus the cluster's agent key Secret (from the key files of ``drsyncer keys generate``, every key
set the cluster is part of), server-side applied (field manager ``dr-syncer``, force; unchanged objects
are not sent), then waits for the DaemonSet to be ready with a deadline (:mod:`drsyncer.agent_install`).
``--dry-run`` prints the objects (Secret values redacted) and what applying each would do.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.status import Status

from agent.manifests import AgentSettings, render_agent_manifests
from drsyncer.agent_install import (
    DEFAULT_TIMEOUT_SECONDS,
    Action,
    DaemonSetStatus,
    apply_objects,
    describe,
    install_objects,
    key_set_roles,
    planned_action,
    wait_for_daemon_set,
)
from drsyncer.cli.output import stderr, stdout, user_errors
from drsyncer.config import ClusterRef, load_config
from drsyncer.config.remote_cluster import RemoteCluster
from drsyncer.errors import UsageError
from drsyncer.key_store import cluster_agent_secret
from drsyncer.objects import KubeObject
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


def allowed_source_cidrs(cluster: RemoteCluster) -> list[str]:
    """The cluster's ``pvcSync.ssh.allowedSourceCIDRs`` (``from=`` on its agents' keys); empty if unset."""
    return list(cluster.spec.pvc_sync.ssh.allowed_source_cidrs) if cluster.spec.pvc_sync else []


def agent_settings(cluster: RemoteCluster, *, default_image: str, source_only: bool = False) -> AgentSettings:
    """Map a RemoteCluster's ``pvcSync`` onto :class:`AgentSettings`.

    ``source_only``: no key set pulls into this cluster, so its agents mount the pods dir read-only.
    """
    pvc_sync = cluster.spec.pvc_sync
    if pvc_sync is None:
        return AgentSettings(cluster=cluster.metadata.name, image=default_image, source_only=source_only)
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
        source_only=source_only,
        privileged=deployment.privileged is True,
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


KEY_DIR_OPTION = typer.Option(None, "--key-dir", help="Key directory. Default: DRSYNCER_KEY_DIR.")
TIMEOUT_OPTION = typer.Option(
    DEFAULT_TIMEOUT_SECONDS, "--timeout", min=0.0, help="Seconds to wait for the DaemonSet to be ready."
)
DRY_RUN_OPTION = typer.Option(
    False, "--dry-run", help="Print the objects and what applying each would do; change nothing."
)


def _redacted(obj: KubeObject) -> KubeObject:
    if obj.get("kind") != "Secret":
        return obj
    data = obj.get("data") or {}
    return {**obj, "data": {key: f"<redacted: {len(value)} base64 chars>" for key, value in data.items()}}


@agent_app.command("install")
def install(
    paths: list[Path] = CONFIG_ARGUMENT,
    cluster: str = CLUSTER_OPTION,
    key_dir: Path | None = KEY_DIR_OPTION,
    timeout: float = TIMEOUT_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
) -> None:
    """Apply the agent (and its key Secret) to one cluster with server-side apply; wait until ready."""
    from drsyncer.kube.connect import connect_cluster  # the kubernetes library: only this command needs it

    with user_errors():
        config = load_config(paths)
        remote = find_remote_cluster([c for c, _ in config.remote_clusters], cluster)
        source_ref = next(s for c, s in config.remote_clusters if c is remote)
        settings = load_settings()
        keys = key_dir if key_dir is not None else settings.key_dir.expanduser()
        roles, warnings = key_set_roles(
            remote,
            [c for c, _ in config.remote_clusters],
            [m for m, _ in config.cluster_mappings],
            keys,
        )
        name = remote.metadata.name
        if not roles:
            stderr.print(
                f"[yellow]warning:[/] no ClusterMapping names cluster {name}: the agent gets a host key "
                "but no client keys",
                highlight=False,
            )
        secret = cluster_agent_secret(keys, name, roles, allowed_source_cidrs=allowed_source_cidrs(remote))
        source_only = not any(role.dr_cluster == name for role in roles)
        objects = install_objects(
            agent_settings(remote, default_image=settings.agent_image, source_only=source_only), secret
        )
        for warning in warnings:
            stderr.print(f"[yellow]warning:[/] {warning}", highlight=False)
        client = connect_cluster(ClusterRef(name, remote.metadata.namespace, remote, source_ref))
        try:
            if dry_run:
                for obj in objects:
                    stderr.print(
                        f"{describe(obj)}: would {planned_action(client, obj).value}", highlight=False
                    )
                sys.stdout.write(yaml.safe_dump_all([_redacted(o) for o in objects], sort_keys=False))
                return

            def report(obj: KubeObject, action: Action) -> None:
                mark = {"create": "[green]created[/]", "update": "[yellow]updated[/]"}.get(
                    action.value, "[dim]unchanged[/]"
                )
                stdout.print(f"{describe(obj)}: {mark}", highlight=False)

            applied = apply_objects(client, objects, on_object=report)
            with Status(f"waiting for DaemonSet dr-syncer/dr-syncer-agent in {name}", console=stderr) as spin:

                def progress(status: DaemonSetStatus) -> None:
                    spin.update(f"DaemonSet dr-syncer/dr-syncer-agent in {name}: {status.describe()}")

                final = wait_for_daemon_set(client, timeout_seconds=timeout, on_status=progress)
        finally:
            client.close()
    changed = sum(1 for _, action in applied if action is not Action.unchanged)
    stdout.print(
        f"agent ready in cluster {name}: {final.describe()}; {changed} object(s) changed", highlight=False
    )
