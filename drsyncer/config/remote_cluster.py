"""RemoteCluster: how to reach one cluster, and how its PVC-sync agent is deployed.

A RemoteCluster is reached in exactly one way: ``kubeconfigSecretRef`` (DR-Syncer's; a Secret on the
controller cluster), ``kubeconfig {path, context}`` (ours; a file, for file mode) or ``inCluster: true``
(ours; the pod's service account). ``pvcSync`` configures the agent DaemonSet (DR-Syncer's fields, plus
our ``addressType``). The kube client layer reads the connection; the agent layer reads ``pvcSync``.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from drsyncer.config.base import (
    Bool,
    ConfigModel,
    CronSchedule,
    Int,
    NamespaceName,
    ObjectMeta,
    ObjectName,
    SecretReference,
    Str,
    VerificationMode,
)
from drsyncer.config.durations import DurationField


class KubeconfigSecretRef(ConfigModel):
    """A kubeconfig stored in a Secret (controller-cluster mode)."""

    name: ObjectName = Field(description="Name of the Secret holding the kubeconfig.")
    namespace: NamespaceName | None = Field(
        default=None,
        description="Namespace of the Secret. Default: the RemoteCluster's namespace "
        "(DR-Syncer requires it).",
    )
    key: Str = Field(default="kubeconfig", description="Data key of the kubeconfig inside the Secret.")


class KubeconfigFile(ConfigModel):
    """A kubeconfig file on the machine running dr-syncer (file mode; our addition)."""

    path: Path = Field(
        description="Path of the kubeconfig file; '~' is expanded and a relative path is relative to the "
        "directory of the config file that names it."
    )
    context: Str | None = Field(
        default=None, description="Context to use inside the kubeconfig. Default: its current-context."
    )

    @field_validator("path", mode="before")
    @classmethod
    def _resolve_path(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"{value!r} is not a file path; expected e.g. './kubeconfig' or '~/.kube/config'"
            )
        path = Path(value).expanduser()
        base_dir = (info.context or {}).get("base_dir")
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return path


class PullPolicy(StrEnum):
    """Kubernetes image pull policy."""

    Always = "Always"
    IfNotPresent = "IfNotPresent"
    Never = "Never"


class AddressType(StrEnum):
    """Which node address the DR agent connects to."""

    ExternalIP = "ExternalIP"
    InternalIP = "InternalIP"


class AgentImage(ConfigModel):
    """The agent image (DR-Syncer requires it; we default to the DRSYNCER_AGENT_IMAGE setting)."""

    repository: Str | None = Field(
        default=None, description="Image repository, e.g. ghcr.io/dr-syncer/agent."
    )
    tag: Str | None = Field(default=None, description="Image tag.")
    pull_policy: PullPolicy = Field(default=PullPolicy.IfNotPresent, description="Image pull policy.")


class SSHConfig(ConfigModel):
    """The agent's sshd."""

    port: Int = Field(default=2222, ge=1, le=65535, description="TCP port of the agent's sshd.")
    key_secret_ref: SecretReference | None = Field(
        default=None,
        description="Secret with the agent keys. Default: pvc-syncer-agent-keys in namespace dr-syncer.",
    )
    allowed_source_cidrs: list[Str] = Field(
        default_factory=list,
        alias="allowedSourceCIDRs",
        description="Networks (CIDR) the agent's keys may be used from (sshd from=); empty: anywhere.",
    )
    agent_cidrs: list[Str] = Field(
        default_factory=list,
        alias="agentCIDRs",
        description="Networks (CIDR) this cluster's agents (its node addresses) are in: DR agents pulling "
        "from this cluster connect only inside them. Empty: any address.",
    )

    @field_validator("allowed_source_cidrs", "agent_cidrs")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a network in CIDR notation (e.g. 10.0.0.0/16)") from None
        return value


class AgentRetryConfig(ConfigModel):
    """DR-Syncer's agent retry settings (accepted; unused by DR-Syncer and by us)."""

    max_retries: Int | None = Field(default=None, ge=0, description="Maximum retry attempts (unused).")
    initial_delay: DurationField | None = Field(default=None, description="Initial delay (unused).")
    max_delay: DurationField | None = Field(default=None, description="Maximum delay (unused).")


class FieldRef(ConfigModel):
    """A pod field reference."""

    field_path: Str = Field(description="Path of the pod field, e.g. spec.nodeName.")


class EnvVarSource(ConfigModel):
    """Where an environment variable's value comes from."""

    field_ref: FieldRef | None = Field(default=None, description="Select a field of the agent pod.")


class EnvVar(ConfigModel):
    """An extra environment variable of the agent container."""

    name: Str = Field(description="Variable name.")
    value: Str | None = Field(default=None, description="Literal value.")
    value_from: EnvVarSource | None = Field(default=None, description="Value taken from a pod field.")


class Resources(ConfigModel):
    """Compute resources of the agent container."""

    limits: dict[str, Str | Int] = Field(default_factory=dict, description="Resource limits, e.g. cpu: 500m.")
    requests: dict[str, Str | Int] = Field(default_factory=dict, description="Resource requests.")


class AgentDeployment(ConfigModel):
    """How the agent DaemonSet's pods are shaped."""

    host_network: Bool = Field(default=True, description="Agent pods use the host network.")
    node_selector: dict[str, str] = Field(default_factory=dict, description="Agent pod nodeSelector.")
    tolerations: list[dict[str, Str | Int]] = Field(
        default_factory=list,
        description="Agent pod tolerations (key, operator, value, effect, tolerationSeconds).",
    )
    resources: Resources | None = Field(default=None, description="Agent container resources.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Extra agent pod annotations.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra agent pod and DaemonSet labels.")
    priority_class_name: Str | None = Field(default=None, description="Agent pod priority class.")
    privileged: Bool | None = Field(
        default=None,
        description="Run the agent container privileged when true. Unset: not privileged (the agent needs "
        "only a few file capabilities); DR-Syncer's default was true.",
    )
    extra_env: list[EnvVar] = Field(default_factory=list, description="Extra agent environment variables.")


class HealthCheck(ConfigModel):
    """DR-Syncer's agent health-check settings (accepted; DR-Syncer's checker never ran)."""

    interval: DurationField | None = Field(default=None, description="Time between checks (default 5m).")
    ssh_timeout: DurationField | None = Field(default=None, description="SSH timeout (default 10s).")
    retry_attempts: Int | None = Field(
        default=None, ge=0, description="Retries of a failed check (default 3)."
    )
    retry_interval: DurationField | None = Field(default=None, description="Time between retries (30s).")


class RsyncDaemonSet(ConfigModel):
    """DR-Syncer's unused rsync DaemonSet pool (accepted for compatibility; ignored)."""

    enabled: Bool = Field(default=True, description="Unused (DR-Syncer's pool was never started).")
    image: Str | None = Field(default=None, description="Unused.")
    namespace: NamespaceName | None = Field(default=None, description="Unused.")
    ssh_secret_name: Str | None = Field(default=None, description="Unused.")


class PVCSync(ConfigModel):
    """PVC data sync through the agent deployed into this cluster."""

    enabled: Bool = Field(
        default=False, description="Deploy the agent DaemonSet and its keys to this cluster."
    )
    image: AgentImage | None = Field(
        default=None, description="Agent image. Default: the DRSYNCER_AGENT_IMAGE setting."
    )
    ssh: SSHConfig = Field(default_factory=SSHConfig, description="The agent's sshd.")
    concurrency: Int | None = Field(
        default=None, ge=1, description="Maximum concurrent PVC syncs involving this cluster."
    )
    global_concurrency_limit: Int = Field(
        default=4,
        ge=1,
        le=256,
        description="DR-Syncer's process-wide PVC-sync limit (accepted; we use "
        "concurrency and DRSYNCER_PVC_CONCURRENCY).",
    )
    retry_config: AgentRetryConfig | None = Field(default=None, description="Unused retry settings.")
    deployment: AgentDeployment = Field(
        default_factory=AgentDeployment, description="Shape of the agent pods."
    )
    health_check: HealthCheck | None = Field(default=None, description="Unused health-check settings.")
    default_verification_mode: VerificationMode = Field(
        default=VerificationMode.none,
        description="Verification of PVC data when the mapping does not say (none, sample, full).",
    )
    default_sample_percent: Int = Field(
        default=10, ge=1, le=100, description="Percentage of files checked in sample mode by default."
    )
    rsync_daemon_set: RsyncDaemonSet | None = Field(
        default=None, description="Unused (DR-Syncer's dead pool)."
    )
    address_type: AddressType | None = Field(
        default=None,
        description="Node address used to reach this cluster's agents (our addition). Default: the node's "
        "ExternalIP if it has one, else its InternalIP (DR-Syncer's rule).",
    )


class RemoteClusterSpec(ConfigModel):
    """How to reach a cluster: exactly one of kubeconfigSecretRef, kubeconfig, inCluster."""

    kubeconfig_secret_ref: KubeconfigSecretRef | None = Field(
        default=None, description="Kubeconfig in a Secret on the controller cluster (DR-Syncer's way)."
    )
    kubeconfig: KubeconfigFile | None = Field(
        default=None, description="Kubeconfig file and context (our addition, for file mode)."
    )
    in_cluster: Bool = Field(
        default=False, description="Use the in-cluster service account of the pod running dr-syncer."
    )
    default_schedule: CronSchedule | None = Field(
        default=None, description="Validated cron (as in DR-Syncer); never used as a fallback."
    )
    default_resource_types: list[Str] = Field(
        default_factory=list, description="Accepted for compatibility; unused (as in DR-Syncer)."
    )
    pvc_sync: PVCSync | None = Field(default=None, description="PVC-sync agent settings for this cluster.")

    @model_validator(mode="after")
    def _exactly_one_connection(self) -> RemoteClusterSpec:
        given = [
            name
            for name, present in (
                ("kubeconfigSecretRef", self.kubeconfig_secret_ref is not None),
                ("kubeconfig", self.kubeconfig is not None),
                ("inCluster", self.in_cluster),
            )
            if present
        ]
        if len(given) != 1:
            found = "none of them" if not given else " and ".join(given)
            raise ValueError(
                f"a RemoteCluster needs exactly one way to connect, found {found}; expected one of "
                "kubeconfigSecretRef {name, namespace, key}, kubeconfig {path, context} or inCluster: true"
            )
        return self

    @property
    def data_sync_enabled(self) -> bool:
        """Whether the PVC-sync agent is enabled for this cluster."""
        return self.pvc_sync is not None and self.pvc_sync.enabled


class RemoteCluster(ConfigModel):
    """A cluster dr-syncer reads from or writes to."""

    api_version: Literal["dr-syncer.io/v1alpha1"] = Field(
        default="dr-syncer.io/v1alpha1", description="dr-syncer.io/v1alpha1"
    )
    kind: Literal["RemoteCluster"] = Field(default="RemoteCluster", description="RemoteCluster")
    metadata: ObjectMeta = Field(description="Name and namespace of the object.")
    spec: RemoteClusterSpec = Field(description="How to reach the cluster and deploy its agent.")
    status: Any = Field(default=None, exclude=True, description="Written by dr-syncer; ignored on input.")
