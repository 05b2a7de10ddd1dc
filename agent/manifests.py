"""The Kubernetes objects that run the node agent in one cluster, rendered from plain settings.

``render_agent_manifests(AgentSettings(...))`` returns, in apply order: Namespace ``dr-syncer``,
ServiceAccount ``dr-syncer-agent`` and DaemonSet ``dr-syncer-agent``. Pure: no cluster is contacted; the
CLI prints them (``drsyncer agent render``) and an installer applies them with server-side apply.

Design choices, each deliberate:

* **No RBAC.** The agent never talks to the Kubernetes API: path resolution (PVC -> PV -> pod -> kubelet
  path) happens in the controller, and the agent only serves sshd. So there is no Role or ClusterRole,
  and ``automountServiceAccountToken: false``; the ServiceAccount exists only to give the pods an
  identity of their own (and a place for imagePullSecrets).
* **hostNetwork** so source agents are reachable at the node's address on ``pvcSync.ssh.port``.
* **hostPath ``/var/lib/kubelet/pods`` only, with ``mountPropagation: HostToContainer``** so volumes
  mounted after the agent started are visible to it (DR-Syncer lacked this). Not the whole kubelet dir:
  its PKI, device-plugin and plugin sockets stay out of reach. **Read-only** where the cluster is only
  ever a source (``AgentSettings.source_only``: no key set pulls into it).
* **Root, not privileged.** sshd must run as root to accept ``root`` logins and rsync must be root to
  read every file of a volume and to preserve numeric owners (``--numeric-ids`` + ``chown``) on the DR
  side. The container drops all capabilities and adds back only those: ``CHOWN``, ``DAC_OVERRIDE``,
  ``DAC_READ_SEARCH``, ``FOWNER``, ``FSETID`` (read and restore any file and its owner/mode),
  ``SETUID``, ``SETGID``, ``SYS_CHROOT`` (sshd's privilege separation). No ``KILL`` (everything the
  agent stops runs as its own uid) and no ``MKNOD`` (pulls pass ``--no-devices --no-specials``).
  Seccomp ``RuntimeDefault``; read-only root filesystem with emptyDirs for ``/run`` and ``/tmp``; no
  privilege escalation. ``HostToContainer`` does not need ``privileged``. ``pvcSync.deployment.privileged:
  true`` is honoured (``AgentSettings.privileged``) for users who ask for it; unset means not privileged.
* **sshd listens on the node's own address** (``status.hostIP`` from the downward API, hostNetwork), not
  on every address of the node.
* **Client keys from one Secret** (``dr-syncer-agent-keys``, see :mod:`drsyncer.keys`) mounted
  read-only at ``/etc/dr-syncer/keys`` with mode 0400; ``entrypoint.sh`` copies authorized_keys into a
  root-only directory so sshd's ``StrictModes yes`` holds. **Host keys are per node**: ``entrypoint.sh``
  generates one at every start in the memory-backed ``/run`` emptyDir and prints the public half to the
  pod log, where the controller reads it (``tasks/data/agent_host_keys.py``); no Secret holds one. A
  client key rotation changes the ``dr-syncer.io/keys-version`` pod annotation, which rolls the
  DaemonSet (and so renews every host key).
* TCP readiness and liveness probes on the ssh port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KubeObject = dict[str, Any]

NAMESPACE = "dr-syncer"
NAME = "dr-syncer-agent"
SECRET_NAME = "dr-syncer-agent-keys"  # noqa: S105 (a name, not a secret)
KUBELET_DIR = "/var/lib/kubelet"
KEYS_MOUNT = "/etc/dr-syncer/keys"
DEFAULT_IMAGE = "ghcr.io/dr-syncer/dr-syncer-agent:0.1.0"
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "SETUID", "SETGID",
                "SYS_CHROOT"]  # fmt: skip


@dataclass(frozen=True)
class AgentSettings:
    """What varies per cluster (from the RemoteCluster's ``pvcSync``)."""

    cluster: str
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    ssh_port: int = 2222
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    resources: Mapping[str, Any] | None = None
    priority_class_name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    keys_version: str = "1"
    kubelet_dir: str = KUBELET_DIR
    source_only: bool = False
    """The cluster only ever serves data (no key set pulls into it): its pods dir is mounted read-only."""
    privileged: bool = False
    """``pvcSync.deployment.privileged: true``: run the container privileged (the agent does not need it)."""


def _labels(settings: AgentSettings) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/part-of": "dr-syncer",
        "app.kubernetes.io/managed-by": "dr-syncer",
        "dr-syncer.io/remote-cluster": settings.cluster,
    }


def namespace() -> KubeObject:
    """Namespace ``dr-syncer`` (privileged pod-security level: hostNetwork and hostPath need it)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": "dr-syncer",
                "app.kubernetes.io/managed-by": "dr-syncer",
                "pod-security.kubernetes.io/enforce": "privileged",
            },
        },
    }


def service_account(settings: AgentSettings) -> KubeObject:
    """ServiceAccount ``dr-syncer-agent``; its token is never mounted (the agent needs no API access)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": _labels(settings)},
        "automountServiceAccountToken": False,
    }


def daemon_set(settings: AgentSettings) -> KubeObject:
    """DaemonSet ``dr-syncer-agent``: sshd on the ssh port of every selected node."""
    if not 1 <= settings.ssh_port <= 65535:
        raise ValueError(f"ssh port {settings.ssh_port} is not in 1..65535")
    labels = _labels(settings)
    selector = {"app.kubernetes.io/name": NAME, "dr-syncer.io/remote-cluster": settings.cluster}
    probe = {"tcpSocket": {"port": "ssh"}}
    container: KubeObject = {
        "name": "agent",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["/usr/local/bin/dr-syncer-entrypoint"],
        "env": [
            {"name": "SSH_PORT", "value": str(settings.ssh_port)},
            {"name": "KEYS_DIR", "value": KEYS_MOUNT},
            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "LISTEN_ADDRESS", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        ],
        "ports": [
            {
                "name": "ssh",
                "containerPort": settings.ssh_port,
                "hostPort": settings.ssh_port,
                "protocol": "TCP",
            }
        ],
        "readinessProbe": {**probe, "initialDelaySeconds": 5, "periodSeconds": 10},
        "livenessProbe": {**probe, "initialDelaySeconds": 15, "periodSeconds": 30, "failureThreshold": 3},
        "securityContext": _security_context(settings),
        "volumeMounts": [
            {
                "name": "pods",
                "mountPath": f"{settings.kubelet_dir}/pods",
                "mountPropagation": "HostToContainer",
                "readOnly": settings.source_only,
            },
            {"name": "keys", "mountPath": KEYS_MOUNT, "readOnly": True},
            {"name": "run", "mountPath": "/run"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if settings.resources:
        container["resources"] = dict(settings.resources)
    pod_spec: KubeObject = {
        "serviceAccountName": NAME,
        "automountServiceAccountToken": False,
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "terminationGracePeriodSeconds": 30,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [
            {"name": "pods", "hostPath": {"path": f"{settings.kubelet_dir}/pods", "type": "Directory"}},
            {"name": "keys", "secret": {"secretName": SECRET_NAME, "defaultMode": 0o400}},
            {"name": "run", "emptyDir": {"medium": "Memory"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if settings.node_selector:
        pod_spec["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        pod_spec["tolerations"] = [dict(toleration) for toleration in settings.tolerations]
    if settings.priority_class_name:
        pod_spec["priorityClassName"] = settings.priority_class_name
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {**settings.labels, **labels}},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": {**settings.labels, **labels},
                    "annotations": {
                        **settings.annotations,
                        "dr-syncer.io/keys-version": settings.keys_version,
                    },
                },
                "spec": pod_spec,
            },
        },
    }


def _security_context(settings: AgentSettings) -> KubeObject:
    """Root with a handful of file capabilities, or privileged when the user asked for it."""
    if settings.privileged:
        return {"runAsUser": 0, "runAsNonRoot": False, "privileged": True, "readOnlyRootFilesystem": True}
    return {
        "runAsUser": 0,
        "runAsNonRoot": False,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"], "add": list(CAPABILITIES)},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def render_agent_manifests(settings: AgentSettings) -> list[KubeObject]:
    """Every object of the agent for one cluster, in apply order (the agent Secret is rendered by keys)."""
    return [namespace(), service_account(settings), daemon_set(settings)]
