"""ClusterMapping: a pair of RemoteClusters (source → target) that NamespaceMappings can refer to.

It also carries the agent key and connectivity settings for that pair (used by the agent layer) and a
``paused`` switch that pauses every NamespaceMapping referring to it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from drsyncer.config.base import (
    Bool,
    ConfigModel,
    Int,
    NamespaceName,
    ObjectMeta,
    ObjectName,
    Str,
)


class SSHKeySecretRef(ConfigModel):
    """A Secret holding an SSH key pair to distribute instead of generated keys."""

    name: ObjectName = Field(description="Name of the Secret.")
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the Secret. Default: the ClusterMapping's namespace."
    )
    public_key_key: Str = Field(default="id_rsa.pub", description="Data key of the public key.")
    private_key_key: Str = Field(default="id_rsa", description="Data key of the private key.")


class ClusterMappingSpec(ConfigModel):
    """Source and target RemoteClusters (in the ClusterMapping's namespace) and their agent link."""

    source_cluster: ObjectName = Field(description="Name of the source RemoteCluster (same namespace).")
    target_cluster: ObjectName = Field(description="Name of the target (DR) RemoteCluster (same namespace).")
    paused: Bool = Field(
        default=False, description="Pause every NamespaceMapping that refers to this mapping."
    )
    ssh_key_secret_ref: SSHKeySecretRef | None = Field(
        default=None,
        description="SSH key pair to use between the clusters' agents instead of generated keys.",
    )
    verify_connectivity: Bool = Field(default=True, description="Check agent-to-agent SSH connectivity.")
    connectivity_timeout_seconds: Int = Field(
        default=60, ge=1, description="Timeout of the connectivity check, in seconds."
    )


class ClusterMapping(ConfigModel):
    """A source → target pair of clusters."""

    api_version: Literal["dr-syncer.io/v1alpha1"] = Field(
        default="dr-syncer.io/v1alpha1", description="dr-syncer.io/v1alpha1"
    )
    kind: Literal["ClusterMapping"] = Field(default="ClusterMapping", description="ClusterMapping")
    metadata: ObjectMeta = Field(description="Name and namespace of the object.")
    spec: ClusterMappingSpec = Field(description="The cluster pair.")
    status: Any = Field(default=None, exclude=True, description="Written by dr-syncer; ignored on input.")
