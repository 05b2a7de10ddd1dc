"""The effective configuration: what the flows consume, with every reference resolved and default applied.

The loader builds one :class:`EffectiveMapping` per NamespaceMapping: its clusters (through its
ClusterMapping or named directly) as :class:`ClusterRef`, its namespaces, mode, schedule, whether it is
paused, and its canonical resource types. Everything downstream (discover, filter, transform, apply, PVC
data, Prefect deployments) reads these objects and never the raw documents. :class:`Config` is the whole
loaded configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drsyncer.config.base import DEFAULT_SCHEDULE
from drsyncer.config.cluster_mapping import ClusterMapping
from drsyncer.config.namespace_mapping import (
    ContinuousConfig,
    DataSyncConfig,
    ExcludeResource,
    FailureHandling,
    ImmutableResourceConfig,
    IngressConfig,
    NamespaceConfig,
    NamespaceMapping,
    NamespaceMappingSpec,
    PVCConfig,
    ReplicationMode,
    RetryConfig,
)
from drsyncer.config.remote_cluster import RemoteCluster, RemoteClusterSpec
from drsyncer.config.resource_types import kind_matches
from drsyncer.config.selectors import LabelSelector
from drsyncer.config.sources import SourceRef
from drsyncer.errors import ConfigError, UsageError

__all__ = ["DEFAULT_SCHEDULE", "ClusterRef", "Config", "EffectiveMapping"]


@dataclass(frozen=True, slots=True)
class ClusterRef:
    """One resolved RemoteCluster: its name, namespace, full object and where it was defined."""

    name: str
    namespace: str
    cluster: RemoteCluster
    source_ref: SourceRef

    @property
    def spec(self) -> RemoteClusterSpec:
        """The RemoteCluster's spec (how to connect, pvcSync)."""
        return self.cluster.spec

    @property
    def key(self) -> str:
        """``namespace/name`` of the RemoteCluster."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class EffectiveMapping:
    """One NamespaceMapping with its clusters resolved and its defaults applied."""

    name: str
    namespace: str
    """Namespace of the NamespaceMapping object (not the synced namespaces)."""
    source: ClusterRef
    destination: ClusterRef
    source_namespace: str
    destination_namespace: str
    mode: ReplicationMode
    schedule: str | None
    """Cron for Scheduled and Continuous (PVC data) mode (default ``*/5 * * * *``); ``None`` for Manual."""
    paused: bool
    """The mapping or its ClusterMapping is paused."""
    resource_types: tuple[str, ...]
    """Canonical lowercase plural resource names (``configmaps``, ``widgets.example.com``), in order."""
    all_custom_resources: bool
    """``namespaceScopedResources: ["*"]``: also sync every custom namespaced resource found at the source."""
    spec: NamespaceMappingSpec
    source_ref: SourceRef
    cluster_mapping: str | None = None
    """``namespace/name`` of the ClusterMapping used, if any."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The NamespaceMapping's annotations (controller mode reads ``dr-syncer.io/sync-now``)."""

    @property
    def key(self) -> str:
        """``namespace/name`` of the NamespaceMapping; unique in a config."""
        return f"{self.namespace}/{self.name}"

    @property
    def scale_to_zero(self) -> bool:
        """DR workloads run with 0 replicas unless overridden."""
        return self.spec.scale_to_zero

    @property
    def sync_crds(self) -> bool:
        """Copy the source's CRDs before other kinds."""
        return self.spec.sync_crds

    @property
    def prune(self) -> bool:
        """Delete managed DR objects whose source is gone."""
        return self.spec.prune

    @property
    def data_sync(self) -> bool:
        """PVC data is copied (``pvcConfig.syncData``)."""
        return self.spec.pvc_config.sync_data

    @property
    def pvc_config(self) -> PVCConfig:
        """PVC object and data settings."""
        return self.spec.pvc_config

    @property
    def data_sync_config(self) -> DataSyncConfig:
        """PVC data transfer settings."""
        return self.spec.pvc_config.data_sync_config

    @property
    def immutable_resource_config(self) -> ImmutableResourceConfig:
        """Immutable-field conflict handling."""
        return self.spec.immutable_resource_config

    @property
    def retry_config(self) -> RetryConfig:
        """Retry/backoff of transient failures."""
        return self.spec.retry_config

    @property
    def namespace_config(self) -> NamespaceConfig:
        """Destination namespace handling."""
        return self.spec.namespace_config

    @property
    def continuous(self) -> ContinuousConfig:
        """Continuous mode settings."""
        return self.spec.continuous

    @property
    def ingress_config(self) -> IngressConfig:
        """DR-Syncer's (unused) ingress options."""
        return self.spec.ingress_config

    @property
    def failure_handling(self) -> FailureHandling:
        """DR-Syncer's (unused) failure policy."""
        return self.spec.failure_handling

    @property
    def exclude_resources(self) -> tuple[ExcludeResource, ...]:
        """Objects never to sync."""
        return tuple(self.spec.exclude_resources)

    @property
    def label_selector(self) -> LabelSelector | None:
        """Only objects matching it are synced (``None``: all)."""
        return self.spec.label_selector

    @property
    def namespace_renamed(self) -> bool:
        """The destination namespace differs from the source namespace."""
        return self.source_namespace != self.destination_namespace

    def excludes(self, *, kind: str, resource: str, name: str) -> bool:
        """Whether ``excludeResources`` names this object (kind in any spelling, exact name)."""
        return any(
            entry.name == name and kind_matches(entry.kind, kind=kind, resource=resource)
            for entry in self.spec.exclude_resources
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (``drsyncer validate --output json``)."""
        return {
            "name": self.name,
            "namespace": self.namespace,
            "key": self.key,
            "source": {"cluster": self.source.name, "namespace": self.source_namespace},
            "destination": {"cluster": self.destination.name, "namespace": self.destination_namespace},
            "clusterMapping": self.cluster_mapping,
            "mode": str(self.mode),
            "schedule": self.schedule,
            "paused": self.paused,
            "resourceTypes": list(self.resource_types),
            "allCustomResources": self.all_custom_resources,
            "syncData": self.data_sync,
            "prune": self.prune,
            "scaleToZero": self.scale_to_zero,
            "source_ref": {"source": self.source_ref.label, "document": self.source_ref.index},
        }


@dataclass(frozen=True, slots=True)
class Config:
    """A whole loaded configuration: the documents by kind and the effective mappings."""

    remote_clusters: tuple[tuple[RemoteCluster, SourceRef], ...] = ()
    cluster_mappings: tuple[tuple[ClusterMapping, SourceRef], ...] = ()
    namespace_mappings: tuple[tuple[NamespaceMapping, SourceRef], ...] = ()
    mappings: tuple[EffectiveMapping, ...] = ()
    """One per NamespaceMapping, in source order."""
    warnings: tuple[str, ...] = ()
    """Things that load but probably do not do what the user means (printed by ``validate``)."""
    sources: tuple[str, ...] = ()
    """The files (or labels) the configuration was read from."""

    def require_mappings(self) -> tuple[EffectiveMapping, ...]:
        """The mappings; a :class:`ConfigError` when there are none (for commands that sync)."""
        if not self.mappings:
            where = ", ".join(self.sources) or "the configuration"
            raise ConfigError(
                [
                    f"{where}: no NamespaceMapping found; expected at least one document with "
                    "kind: NamespaceMapping (apiVersion: dr-syncer.io/v1alpha1)"
                ]
            )
        return self.mappings

    def mapping(self, name: str) -> EffectiveMapping:
        """The mapping called ``name`` or ``namespace/name``; a :class:`UsageError` lists the known ones."""
        found = [m for m in self.mappings if name in (m.key, m.name)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(m.key for m in self.mappings) or "none"
        if found:
            raise UsageError(
                f"mapping name {name!r} is ambiguous: {', '.join(m.key for m in found)}",
                fix="give it as namespace/name",
            )
        raise UsageError(f"no NamespaceMapping {name!r} in the configuration", fix=f"known mappings: {known}")

    def select(self, names: list[str] | None) -> tuple[EffectiveMapping, ...]:
        """The mappings named in ``names`` (all mappings, required non-empty, when ``names`` is empty)."""
        if not names:
            return self.require_mappings()
        return tuple(self.mapping(name) for name in names)
