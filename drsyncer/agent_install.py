"""Installing the node agent in one cluster: render, server-side apply, wait for the DaemonSet.

Used by ``drsyncer agent install``. The objects are :mod:`agent.manifests`' (Namespace, ServiceAccount,
DaemonSet) plus the cluster's agent Secret ``dr-syncer-agent-keys`` built from the key files
(:func:`drsyncer.key_store.cluster_agent_secret`) for every key set the cluster is part of: each
ClusterMapping naming it as source or target, and the reverse (failback) key set ``<dr>-to-<source>`` of
each when it exists. The DaemonSet's ``dr-syncer.io/keys-version`` annotation is a digest of the Secret's
data, so a changed Secret rolls the agents (sshd reads its keys at start) and an unchanged one does not.

Apply is server-side apply with field manager ``dr-syncer`` and ``force``. An object is only sent when it
would change: a ``dryRun=All`` apply is compared with the live object first, so a re-install sends no
mutating request at all. Waiting polls the DaemonSet until ``observedGeneration`` is current and
``numberReady == desiredNumberScheduled > 0`` (also ``updatedNumberScheduled`` when reported), with a
deadline.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from agent.manifests import NAME, NAMESPACE, AgentSettings, render_agent_manifests
from drsyncer.config.cluster_mapping import ClusterMapping
from drsyncer.config.remote_cluster import RemoteCluster
from drsyncer.errors import ClusterError
from drsyncer.key_store import (
    KeySetRole,
    has_key_set,
    reverse_key_set_name,
    secret_digest,
)
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.labels import FIELD_MANAGER
from drsyncer.objects import KubeObject

DEFAULT_SSH_PORT = 2222
DEFAULT_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 1.0


class Action(StrEnum):
    """What applying one object does."""

    create = "create"
    update = "update"
    unchanged = "unchanged"


class AgentInstallTimeoutError(ClusterError):
    """The DaemonSet did not become ready before the deadline."""


@dataclass(frozen=True)
class DaemonSetStatus:
    """The rollout numbers of the agent DaemonSet."""

    desired: int = 0
    ready: int = 0
    updated: int | None = None
    generation: int = 0
    observed_generation: int = 0

    @property
    def is_ready(self) -> bool:
        """Current generation observed, every scheduled pod updated and ready, at least one."""
        updated = self.updated if self.updated is not None else self.desired
        return (
            self.observed_generation >= self.generation
            and self.desired > 0
            and self.ready == self.desired
            and updated == self.desired
        )

    def describe(self) -> str:
        """``2/2 ready (generation 3 observed)``."""
        observed = "observed" if self.observed_generation >= self.generation else "not yet observed"
        return f"{self.ready}/{self.desired} ready (generation {self.generation} {observed})"

    @classmethod
    def of(cls, daemon_set: KubeObject | None) -> DaemonSetStatus:
        """Read the numbers from a DaemonSet object (all zero when it does not exist)."""
        if daemon_set is None:
            return cls()
        status = daemon_set.get("status") or {}
        updated = status.get("updatedNumberScheduled")
        return cls(
            desired=int(status.get("desiredNumberScheduled") or 0),
            ready=int(status.get("numberReady") or 0),
            updated=int(updated) if updated is not None else None,
            generation=int(daemon_set["metadata"].get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
        )


def ssh_port(cluster: RemoteCluster) -> int:
    """The cluster's agent port (``pvcSync.ssh.port``, default 2222)."""
    pvc_sync = cluster.spec.pvc_sync
    return int(pvc_sync.ssh.port) if pvc_sync is not None else DEFAULT_SSH_PORT


def agent_networks(cluster: RemoteCluster) -> tuple[str, ...]:
    """Where the cluster's agents are (``pvcSync.ssh.agentCIDRs``): the only targets of pulls from it."""
    pvc_sync = cluster.spec.pvc_sync
    return tuple(pvc_sync.ssh.agent_cidrs) if pvc_sync is not None else ()


def key_set_roles(
    cluster: RemoteCluster,
    clusters: Sequence[RemoteCluster],
    mappings: Sequence[ClusterMapping],
    key_dir: Path,
) -> tuple[list[KeySetRole], list[str]]:
    """The key sets ``cluster`` is part of, and warnings (a missing reverse key set).

    Forward key sets (one per ClusterMapping naming the cluster) are required: a missing one raises when
    the Secret is built, naming ``drsyncer keys generate``. Reverse ones are included when present.
    """
    name, namespace = cluster.metadata.name, cluster.metadata.namespace
    ports = {c.metadata.name: ssh_port(c) for c in clusters if c.metadata.namespace == namespace}
    networks = {c.metadata.name: agent_networks(c) for c in clusters if c.metadata.namespace == namespace}
    roles: list[KeySetRole] = []
    warnings: list[str] = []
    for mapping in mappings:
        spec = mapping.spec
        if mapping.metadata.namespace != namespace or name not in (spec.source_cluster, spec.target_cluster):
            continue
        source, target = spec.source_cluster, spec.target_cluster
        roles.append(
            KeySetRole(
                mapping.metadata.name,
                source,
                target,
                ports.get(source, DEFAULT_SSH_PORT),
                source_cidrs=networks.get(source, ()),
            )
        )
        reverse = reverse_key_set_name(source, target)
        if has_key_set(key_dir, reverse):
            roles.append(
                KeySetRole(
                    reverse,
                    target,
                    source,
                    ports.get(target, DEFAULT_SSH_PORT),
                    source_cidrs=networks.get(target, ()),
                )
            )
        else:
            warnings.append(
                f"no reverse key set {reverse!r} in {key_dir}: failback data copies ({target} -> {source}) "
                f"will not work; run `drsyncer keys generate CONFIG --cluster-mapping "
                f"{mapping.metadata.name} --force` to create both directions"
            )
    return roles, warnings


def install_objects(settings: AgentSettings, secret: KubeObject | None) -> list[KubeObject]:
    """Namespace, ServiceAccount, Secret (when given), DaemonSet — in apply order."""
    if secret is not None:
        settings = AgentSettings(**{**settings.__dict__, "keys_version": secret_digest(secret)})
    objects = render_agent_manifests(settings)
    if secret is not None:
        objects.insert(2, secret)
    return objects


_PLURALS = {
    ("v1", "Namespace"): ("", "v1", "namespaces"),
    ("v1", "ServiceAccount"): ("", "v1", "serviceaccounts"),
    ("v1", "Secret"): ("", "v1", "secrets"),
    ("apps/v1", "DaemonSet"): ("apps", "v1", "daemonsets"),
}


def path_of(obj: KubeObject) -> str:
    """The REST path of one of our objects."""
    group, version, plural = _PLURALS[(obj["apiVersion"], obj["kind"])]
    metadata = obj["metadata"]
    return object_path(
        group=group,
        version=version,
        plural=plural,
        namespace=metadata.get("namespace"),
        name=metadata["name"],
    )


def describe(obj: KubeObject) -> str:
    """``DaemonSet dr-syncer/dr-syncer-agent``."""
    metadata = obj["metadata"]
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj['kind']} {where}{metadata['name']}"


def planned_action(client: KubeClient, obj: KubeObject) -> Action:
    """What applying ``obj`` would do, found with a server-side dry run (no mutation)."""
    path = path_of(obj)
    live = client.get(path)
    if live is None:
        return Action.create
    would_be = client.apply(path, obj, field_manager=FIELD_MANAGER, force=True, dry_run=True)
    return Action.unchanged if _comparable(would_be) == _comparable(live) else Action.update


def _comparable(obj: KubeObject) -> dict[str, Any]:
    copied = copy.deepcopy(obj)
    metadata = copied.get("metadata") or {}
    for entry in metadata.get("managedFields") or []:
        entry.pop("time", None)
    return copied


def apply_objects(
    client: KubeClient, objects: Sequence[KubeObject], *, on_object: Callable[[KubeObject, Action], None]
) -> list[tuple[KubeObject, Action]]:
    """Server-side apply every object that would change; report each with its action."""
    results: list[tuple[KubeObject, Action]] = []
    for obj in objects:
        action = planned_action(client, obj)
        if action is not Action.unchanged:
            client.apply(path_of(obj), obj, field_manager=FIELD_MANAGER, force=True)
        on_object(obj, action)
        results.append((obj, action))
    return results


def daemon_set_path() -> str:
    """Path of the agent DaemonSet."""
    return object_path(group="apps", version="v1", plural="daemonsets", namespace=NAMESPACE, name=NAME)


def wait_for_daemon_set(
    client: KubeClient,
    *,
    timeout_seconds: float,
    on_status: Callable[[DaemonSetStatus], None],
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DaemonSetStatus:
    """Poll the agent DaemonSet until it is ready; :class:`AgentInstallTimeoutError` at the deadline."""
    deadline = clock() + timeout_seconds
    while True:
        status = DaemonSetStatus.of(client.get(daemon_set_path()))
        on_status(status)
        if status.is_ready:
            return status
        remaining = deadline - clock()
        if remaining <= 0:
            hint = (
                "no node matches the agent's nodeSelector/tolerations (desiredNumberScheduled is 0); "
                "check pvcSync.deployment.nodeSelector and tolerations of the RemoteCluster"
                if status.desired == 0
                else "check the agent pods: `kubectl -n dr-syncer get pods -l "
                "app.kubernetes.io/name=dr-syncer-agent` and their events (image pull, hostPort in use)"
            )
            raise AgentInstallTimeoutError(
                f"cluster {client.cluster!r}: DaemonSet {NAMESPACE}/{NAME} not ready after "
                f"{timeout_seconds:g} s: {status.describe()}",
                fix=hint,
            )
        sleep(min(poll_seconds, remaining))
