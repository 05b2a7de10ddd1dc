"""The configuration layer: DR-Syncer's CRDs (plus our additions) as strict models, loaded and resolved.

First stage of the pipeline (config → effective mapping → objects → plan → apply → report). Callers use
:func:`load_config` (files/directories) or :func:`load_documents` (parsed documents, e.g. CRs read from a
controller cluster), get a :class:`Config`, and work from its :class:`EffectiveMapping` objects. Every
problem is reported at once as a :class:`~drsyncer.errors.ConfigError`.
"""

from drsyncer.config.base import API_VERSION, DEFAULT_CONFIG_NAMESPACE, DEFAULT_SCHEDULE
from drsyncer.config.cluster_mapping import ClusterMapping, ClusterMappingSpec
from drsyncer.config.durations import Duration
from drsyncer.config.effective import ClusterRef, Config, EffectiveMapping
from drsyncer.config.loader import KINDS, load_config, load_documents
from drsyncer.config.namespace_mapping import (
    ImmutableResourceHandling,
    NamespaceMapping,
    NamespaceMappingSpec,
    ReplicationMode,
)
from drsyncer.config.remote_cluster import AddressType, RemoteCluster, RemoteClusterSpec
from drsyncer.config.resource_types import DEFAULT_RESOURCE_TYPES, SYNCABLE, ResourceType
from drsyncer.config.sources import SourcedDocument, SourceRef

__all__ = [
    "API_VERSION",
    "DEFAULT_CONFIG_NAMESPACE",
    "DEFAULT_RESOURCE_TYPES",
    "DEFAULT_SCHEDULE",
    "KINDS",
    "SYNCABLE",
    "AddressType",
    "ClusterMapping",
    "ClusterMappingSpec",
    "ClusterRef",
    "Config",
    "Duration",
    "EffectiveMapping",
    "ImmutableResourceHandling",
    "NamespaceMapping",
    "NamespaceMappingSpec",
    "RemoteCluster",
    "RemoteClusterSpec",
    "ReplicationMode",
    "ResourceType",
    "SourceRef",
    "SourcedDocument",
    "load_config",
    "load_documents",
]
