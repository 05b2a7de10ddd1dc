"""Where a PVC's bytes are: claim → volume → a Running pod that mounts it → node and path (design §5).

A volume is only visible on a node while a pod mounts it; the kubelet then shows it at
``<kubelet>/pods/<pod uid>/volumes/kubernetes.io~csi/<pv>/mount``. Agents serve exactly that tree
(the pods directory), so an endpoint's path is **relative to the pods directory**:
``<pod uid>/volumes/kubernetes.io~csi/<pv>/mount``. Each agent resolves it against its own kubelet
directory, and the forced commands refuse anything outside it.

When no Running pod mounts the claim (DR workloads are usually scaled to 0), a short-lived placeholder
pod is started: labelled as ours, minimal resources, pinned to the volume's node when the volume has
node affinity (ReadWriteOnce), waited for with a deadline, and always deleted afterwards — also when the
sync fails (:func:`volume_endpoint` is a context manager).

The node's address follows ``pvcSync.addressType``: ExternalIP or InternalIP; unset means DR-Syncer's
rule (ExternalIP if the node has one, else InternalIP).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from drsyncer.errors import DataSyncError
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.labels import COMPONENT, MANAGED_BY, MANAGED_BY_VALUE
from drsyncer.objects import KubeObject, object_name

PLACEHOLDER_COMPONENT = "pvc-placeholder"
CSI_DIR = "kubernetes.io~csi"


@dataclass(frozen=True)
class VolumeEndpoint:
    """One side of a PVC transfer: the node's address and the volume's path below the pods dir."""

    cluster: str
    namespace: str
    claim: str
    volume: str
    node: str
    address: str
    path: str
    pod: str
    placeholder: bool


@dataclass(frozen=True)
class PlaceholderSettings:
    """How placeholder pods are made and waited for."""

    image: str = "registry.k8s.io/pause:3.10"
    timeout_seconds: float = 120.0
    poll_seconds: float = 0.2


def _claim(client: KubeClient, namespace: str, name: str) -> KubeObject:
    claim = client.get(
        object_path(group="", version="v1", plural="persistentvolumeclaims", namespace=namespace, name=name)
    )
    if claim is None:
        raise DataSyncError(
            f"PVC {namespace}/{name} does not exist in cluster {client.cluster!r}",
            fix="the resource sync creates DR claims first; check the sync's object results",
        )
    return claim


def _pod_mounting(client: KubeClient, namespace: str, claim: str) -> KubeObject | None:
    pods, _ = client.list(object_path(group="", version="v1", plural="pods", namespace=namespace))
    running = [
        pod
        for pod in pods
        if (pod.get("status") or {}).get("phase") == "Running"
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
        and (pod.get("spec") or {}).get("nodeName")
        and any(
            ((volume.get("persistentVolumeClaim") or {}).get("claimName") == claim)
            for volume in (pod.get("spec") or {}).get("volumes") or []
        )
    ]
    running.sort(key=lambda pod: (_is_placeholder(pod), object_name(pod)))
    return running[0] if running else None


def _is_placeholder(pod: KubeObject) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(COMPONENT) == PLACEHOLDER_COMPONENT)


def node_address(node: KubeObject, address_type: str | None) -> str:
    """The address to reach ``node``'s agent at, per ``addressType`` (ExternalIP|InternalIP|unset)."""
    addresses = {
        entry.get("type"): entry.get("address") for entry in (node.get("status") or {}).get("addresses") or []
    }
    order = [address_type] if address_type else ["ExternalIP", "InternalIP"]
    for kind in order:
        if addresses.get(kind):
            return str(addresses[kind])
    raise DataSyncError(
        f"node {object_name(node)} has no {' or '.join(order)} address",
        fix="set pvcSync.addressType of the RemoteCluster to an address type its nodes have",
    )


def volume_path(volume: KubeObject, pod_uid: str) -> str:
    """The volume's path below the kubelet pods dir for a pod that mounts it."""
    spec = volume.get("spec") or {}
    name = object_name(volume)
    if spec.get("csi") is not None:
        return f"{pod_uid}/volumes/{CSI_DIR}/{name}/mount"
    raise DataSyncError(
        f"PersistentVolume {name} is not a CSI volume; only CSI volumes can be reached below the "
        "kubelet pods dir",
        fix="use a CSI storage class for volumes that need data replication",
    )


def _pinned_node(volume: KubeObject | None) -> str | None:
    """The single node a volume is pinned to by its node affinity (hostname term), if any."""
    if volume is None:
        return None
    terms = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get(
        "nodeSelectorTerms"
    ) or []
    for term in terms:
        for expression in term.get("matchExpressions") or []:
            values = expression.get("values") or []
            if (
                expression.get("key") == "kubernetes.io/hostname"
                and expression.get("operator") == "In"
                and len(values) == 1
            ):
                return str(values[0])
    return None


def placeholder_pod(
    namespace: str, claim: KubeObject, volume: KubeObject | None, settings: PlaceholderSettings
) -> KubeObject:
    """The placeholder pod that makes a claim's volume appear on a node."""
    name = object_name(claim)
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:10]
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": "placeholder",
                "image": settings.image,
                "resources": {"requests": {"cpu": "1m", "memory": "8Mi"}, "limits": {"memory": "16Mi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
            }
        ],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}],
    }
    pinned = _pinned_node(volume)
    if pinned:
        spec["nodeSelector"] = {"kubernetes.io/hostname": pinned}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"dr-syncer-placeholder-{digest}",
            "namespace": namespace,
            "labels": {MANAGED_BY: MANAGED_BY_VALUE, COMPONENT: PLACEHOLDER_COMPONENT},
            "annotations": {"dr-syncer.io/claim": name},
        },
        "spec": spec,
    }


@contextmanager
def volume_endpoint(
    client: KubeClient,
    namespace: str,
    claim_name: str,
    *,
    address_type: str | None = None,
    settings: PlaceholderSettings | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[VolumeEndpoint]:
    """Resolve where ``claim_name``'s data is; start (and always remove) a placeholder pod if needed."""
    settings = settings or PlaceholderSettings()
    claim = _claim(client, namespace, claim_name)
    pod = _pod_mounting(client, namespace, claim_name)
    created: str | None = None
    try:
        if pod is None:
            volume = _volume(client, claim)
            manifest = placeholder_pod(namespace, claim, volume, settings)
            created = object_name(manifest)
            pods_path = object_path(group="", version="v1", plural="pods", namespace=namespace)
            existing = client.get(f"{pods_path}/{created}")
            if existing is None:
                client.create(pods_path, manifest, field_manager=MANAGED_BY_VALUE)
            pod = _wait_running(client, namespace, created, settings, sleep=sleep, clock=clock)
            claim = _claim(client, namespace, claim_name)
        volume = _volume(client, claim)
        if volume is None:
            raise DataSyncError(
                f"PVC {namespace}/{claim_name} in cluster {client.cluster!r} is not bound to a volume",
                fix="check its storage class and provisioner in that cluster",
            )
        node_name = str((pod.get("spec") or {}).get("nodeName"))
        node = client.get(object_path(group="", version="v1", plural="nodes", namespace=None, name=node_name))
        if node is None:
            raise DataSyncError(
                f"node {node_name} of pod {object_name(pod)} does not exist", fix="retry later"
            )
        yield VolumeEndpoint(
            cluster=client.cluster,
            namespace=namespace,
            claim=claim_name,
            volume=object_name(volume),
            node=node_name,
            address=node_address(node, address_type),
            path=volume_path(volume, str((pod.get("metadata") or {}).get("uid"))),
            pod=object_name(pod),
            placeholder=created is not None,
        )
    finally:
        if created is not None:
            client.delete(
                object_path(group="", version="v1", plural="pods", namespace=namespace, name=created)
            )


def _volume(client: KubeClient, claim: KubeObject) -> KubeObject | None:
    name = (claim.get("spec") or {}).get("volumeName")
    if not name:
        return None
    return client.get(
        object_path(group="", version="v1", plural="persistentvolumes", namespace=None, name=name)
    )


def _wait_running(
    client: KubeClient,
    namespace: str,
    name: str,
    settings: PlaceholderSettings,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> KubeObject:
    path = object_path(group="", version="v1", plural="pods", namespace=namespace, name=name)
    deadline = clock() + settings.timeout_seconds
    while True:
        pod = client.get(path)
        phase = ((pod or {}).get("status") or {}).get("phase")
        if pod is not None and phase == "Running" and (pod.get("spec") or {}).get("nodeName"):
            return pod
        if phase in ("Failed", "Succeeded"):
            raise DataSyncError(
                f"placeholder pod {namespace}/{name} in cluster {client.cluster!r} ended ({phase})",
                fix="check the pod's events: image pull, node selector, volume attach",
            )
        if clock() > deadline:
            raise DataSyncError(
                f"placeholder pod {namespace}/{name} in cluster {client.cluster!r} did not run within "
                f"{settings.timeout_seconds:.0f} s (phase {phase or 'unknown'})",
                fix="check that the claim can bind and a node can run the pod (resources, taints, attach)",
            )
        sleep(settings.poll_seconds)
