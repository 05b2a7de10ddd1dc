"""NamespaceMapping: what to copy from one namespace of a source cluster to a namespace of a DR cluster.

These are DR-Syncer's fields with DR-Syncer's defaults, plus our additions (``excludeResources``,
``labelSelector``, ``prune``, ``pvcConfig.prunePVCs``, ``pvcConfig.dataSyncConfig.allowEmptySource``,
``namespaceConfig.rewriteTextReferences``). Sub-objects DR-Syncer leaves nil default here to their
all-defaults value, so code never checks for ``None``. The loader turns each NamespaceMapping into an
:class:`~drsyncer.config.effective.EffectiveMapping` that the flows consume.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, StrictFloat, model_validator

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
from drsyncer.config.dr_copies import PerClusterObjectEntry, ServiceConfig, WorkloadParkingEntry
from drsyncer.config.durations import DurationField
from drsyncer.config.selectors import LabelSelector
from drsyncer.config.wildcard import WildcardConfig


class ReplicationMode(StrEnum):
    """When a mapping syncs."""

    Scheduled = "Scheduled"
    Manual = "Manual"
    Continuous = "Continuous"


class ImmutableResourceHandling(StrEnum):
    """What to do when the API server refuses an update because a field is immutable."""

    NoChange = "NoChange"
    Recreate = "Recreate"
    RecreateWithPodDrain = "RecreateWithPodDrain"
    PartialUpdate = "PartialUpdate"
    ForceUpdate = "ForceUpdate"


class FailureMode(StrEnum):
    """DR-Syncer's failure-handling modes (accepted; unused by DR-Syncer and by us)."""

    RetryAndWait = "RetryAndWait"
    RetryOnly = "RetryOnly"
    WaitForNextSync = "WaitForNextSync"
    FailFast = "FailFast"


class ClusterMappingRef(ConfigModel):
    """A reference to a ClusterMapping."""

    name: ObjectName = Field(description="Name of the ClusterMapping.")
    namespace: NamespaceName | None = Field(
        default=None,
        description="Namespace of the ClusterMapping. Default: the NamespaceMapping's namespace.",
    )


class StorageClassMapping(ConfigModel):
    """Rename a storage class on the DR copy of a PVC."""

    from_: Str = Field(alias="from", description="Storage class in the source cluster.")
    to: Str = Field(description="Storage class to use in the DR cluster.")


class AccessModeMapping(ConfigModel):
    """Rewrite an access mode on the DR copy of a PVC (one lookup per mode, no cascading)."""

    from_: Str = Field(alias="from", description="Access mode in the source cluster, e.g. ReadWriteOnce.")
    to: Str = Field(description="Access mode to use in the DR cluster, e.g. ReadWriteMany.")


class SnapshotConfig(ConfigModel):
    """Newer DR-Syncer's snapshot-based data sync (accepted for compatibility; not implemented)."""

    enabled: Bool = Field(default=False, description="Sync from a VolumeSnapshot (not implemented; ignored).")
    fallback_to_live: Bool = Field(default=True, description="Fall back to live data (ignored).")
    snapshot_timeout: DurationField = Field(
        default="5m", validate_default=True, description="Wait for the snapshot (ignored)."
    )
    volume_snapshot_class_name: Str | None = Field(default=None, description="Snapshot class (ignored).")


class DataSyncConfig(ConfigModel):
    """How PVC data is copied (rsync) and verified."""

    bandwidth_limit: Int | None = Field(
        default=None, ge=0, description="Maximum transfer rate in KB/s (rsync --bwlimit); unset or 0 = none."
    )
    rsync_options: list[Str] = Field(
        default_factory=list,
        description="Extra rsync options; options that change the transport (-e, --rsh, ...) are refused.",
    )
    exclude_paths: list[Str] = Field(
        default_factory=list, description="Paths relative to the volume root that are not copied."
    )
    verification_mode: VerificationMode | None = Field(
        default=None,
        description="none, sample or full. Default: the source RemoteCluster's "
        "pvcSync.defaultVerificationMode (none).",
    )
    sample_percent: Int = Field(
        default=10, ge=1, le=100, description="Percentage of files checksummed in sample mode."
    )
    timeout: DurationField = Field(
        default="30m", validate_default=True, description="Time limit of one PVC's sync."
    )
    concurrent_syncs: Int = Field(
        default=2, ge=1, description="PVCs of this mapping synced at the same time."
    )
    snapshot_config: SnapshotConfig | None = Field(
        default=None, description="Accepted for compatibility with newer DR-Syncer; ignored."
    )
    allow_empty_source: Bool = Field(
        default=False,
        description="Our addition: allow an empty or unmounted source to be mirrored over a non-empty DR "
        "copy (which erases it). Default false: such a sync is refused.",
    )


class ChangeGuardConfig(ConfigModel):
    """Our addition: hold a PVC's data sync that would delete or rewrite too much of the DR copy."""

    enabled: Bool = Field(
        default=True,
        description="Dry-run every data sync into a non-empty DR copy and hold it above the limits.",
    )
    max_deleted_percent: StrictFloat = Field(
        default=20.0,
        ge=0,
        le=100,
        description="Hold when more than this percentage of the DR copy's files would be deleted.",
    )
    max_changed_percent: StrictFloat = Field(
        default=50.0,
        ge=0,
        le=100,
        description="Hold when more than this percentage of the DR copy's files would be rewritten "
        "(files encrypted in place count: their size and mtime change).",
    )
    min_files: Int = Field(
        default=100,
        ge=0,
        description="DR copies with fewer files than this are not judged (one file of ten is 10 %).",
    )


class RestorePointsConfig(ConfigModel):
    """Our addition: a CSI VolumeSnapshot of the DR claim before each data sync that would change it."""

    volume_snapshot_class_name: Str | None = Field(
        default=None,
        description="VolumeSnapshotClass in the DR cluster (and in the source cluster for failback's restore "
        "points of source claims); unset = no restore points (validate warns).",
    )
    keep: Int = Field(default=7, ge=1, description="Restore points kept per claim; older ones are deleted.")
    keep_within: DurationField | None = Field(
        default=None,
        description="Delete restore points older than this (e.g. 168h); the newest one is always kept.",
    )
    ready_timeout: DurationField = Field(
        default="10m",
        validate_default=True,
        description="How long to wait for a snapshot's readyToUse before failing that PVC (DR copy kept).",
    )


class PVCConfig(ConfigModel):
    """How PersistentVolumeClaims (and their data) are copied."""

    storage_class_mappings: list[StorageClassMapping] = Field(
        default_factory=list, description="Storage class renames; the first match wins."
    )
    access_mode_mappings: list[AccessModeMapping] = Field(
        default_factory=list, description="Access mode rewrites, one lookup per mode."
    )
    preserve_volume_attributes: Bool = Field(
        default=False, description="Keep volumeMode, selector and dataSource(Ref) on new DR PVCs."
    )
    sync_persistent_volumes: Bool = Field(
        default=False, description="Keep spec.volumeName on new DR PVCs (the PV is shared or pre-created)."
    )
    sync_data: Bool = Field(default=False, description="Copy the data inside PVCs with rsync between agents.")
    data_sync_config: DataSyncConfig = Field(
        default_factory=DataSyncConfig, description="How data is copied; used when syncData is true."
    )
    restore_points: RestorePointsConfig = Field(
        default_factory=RestorePointsConfig,
        description="Our addition: restore points (VolumeSnapshots of DR claims) before data syncs.",
    )
    change_guard: ChangeGuardConfig = Field(
        default_factory=ChangeGuardConfig,
        description="Our addition: the change guard (dry run before each data sync; hold above limits).",
    )
    prune_pvcs: Bool = Field(
        alias="prunePVCs",
        default=False,
        description="Our addition: prune may delete DR PVCs whose source is gone.",
    )


class ImmutableResourceConfig(ConfigModel):
    """What to do when an update hits an immutable field (HTTP 422 'field is immutable')."""

    default_handling: ImmutableResourceHandling = Field(
        default=ImmutableResourceHandling.NoChange,
        description="NoChange, Recreate, RecreateWithPodDrain, PartialUpdate or ForceUpdate.",
    )
    resource_overrides: dict[str, ImmutableResourceHandling] = Field(
        default_factory=dict,
        description="Handling per resource, keyed 'resource.group' (e.g. statefulsets.apps).",
    )
    drain_timeout: DurationField = Field(
        default="5m",
        validate_default=True,
        description="RecreateWithPodDrain: how long to wait for the workload's pods (its whole selector) "
        "to go before re-creating it anyway; pods still there are named in the object's outcome.",
    )
    force_delete_timeout: DurationField = Field(
        default="2m",
        validate_default=True,
        description="Recreate, RecreateWithPodDrain, ForceUpdate: how long to wait for the deleted object "
        "to be gone before re-creating it; after that the object fails (check its finalizers).",
    )


class FailureHandling(ConfigModel):
    """DR-Syncer's failure policy (accepted; unused by DR-Syncer and by us: Prefect retries apply)."""

    default_mode: FailureMode = Field(default=FailureMode.RetryAndWait, description="Unused.")
    storage_class_not_found: FailureMode = Field(default=FailureMode.WaitForNextSync, description="Unused.")
    resource_not_found: FailureMode = Field(default=FailureMode.FailFast, description="Unused.")
    validation_failure: FailureMode = Field(default=FailureMode.FailFast, description="Unused.")
    network_error: FailureMode = Field(default=FailureMode.RetryAndWait, description="Unused.")


class RetryConfig(ConfigModel):
    """Retries of transient failures (PVC data transfers), with exponential backoff."""

    max_retries: Int = Field(default=5, ge=0, description="Retries after the first attempt.")
    initial_backoff: DurationField = Field(
        default="5s", validate_default=True, description="Wait before the first retry."
    )
    max_backoff: DurationField = Field(
        default="5m", validate_default=True, description="Longest wait between retries."
    )
    backoff_multiplier: Int = Field(
        default=200, ge=100, le=1000, description="Growth of the wait per retry, in percent (200 = doubles)."
    )


class ContinuousConfig(ConfigModel):
    """Continuous mode settings."""

    watch_resources: Bool = Field(
        default=True, description="Watch the source (always on; kept for DR-Syncer)."
    )
    background_sync_interval: DurationField = Field(
        default="1h", validate_default=True, description="Interval of full re-syncs besides the watch."
    )


class NamespaceConfig(ConfigModel):
    """How the destination namespace itself is handled."""

    create_namespace: Bool = Field(default=True, description="Create the destination namespace if missing.")
    preserve_labels: Bool = Field(default=True, description="Copy the source namespace's labels.")
    preserve_annotations: Bool = Field(default=True, description="Copy the source namespace's annotations.")
    rewrite_text_references: Bool = Field(
        default=False,
        description="Our addition: in a renamed namespace, also rewrite '<ns>.svc' and "
        "'.svc.cluster.local' names in env values and ConfigMap data.",
    )
    exclude_metadata: list[Str] = Field(
        default_factory=list,
        description="Our addition: label and annotation keys (shell-style patterns) of the source namespace "
        "not copied, besides the default list of cluster-specific ones (kubernetes.io/metadata.name, "
        "openshift.io/sa.scc.*, ...; see docs/rules.md).",
    )


class IngressConfig(ConfigModel):
    """DR-Syncer's ingress options (accepted; Ingresses are always copied verbatim)."""

    preserve_annotations: Bool = Field(default=True, description="Unused: annotations are always kept.")
    preserve_tls: Bool = Field(default=True, alias="preserveTLS", description="Unused: TLS is always kept.")
    preserve_backends: Bool = Field(default=True, description="Unused: backends are always kept.")


class ExcludeResource(ConfigModel):
    """One object never to sync."""

    kind: Str = Field(description="Kind or resource name of the object (e.g. ConfigMap, configmaps, cm).")
    name: ObjectName = Field(description="Name of the object.")


class NamespaceMappingSpec(ConfigModel):
    """What to sync from one source namespace to one destination namespace, and how."""

    cluster_mapping_ref: ClusterMappingRef | None = Field(
        default=None, description="ClusterMapping giving the source and destination clusters."
    )
    source_cluster: ObjectName | None = Field(
        default=None, description="Source RemoteCluster (when there is no clusterMappingRef)."
    )
    destination_cluster: ObjectName | None = Field(
        default=None, description="Destination RemoteCluster (when there is no clusterMappingRef)."
    )
    source_namespace: NamespaceName = Field(description="Namespace to copy from.")
    destination_namespace: NamespaceName | None = Field(
        default=None, description="Namespace to copy to. Default: the source namespace."
    )
    replication_mode: ReplicationMode = Field(
        default=ReplicationMode.Scheduled, description="Scheduled, Manual or Continuous."
    )
    schedule: CronSchedule | None = Field(
        default=None,
        description="Cron schedule of Scheduled mode (and of PVC data in Continuous mode). "
        "Default */5 * * * *.",
    )
    paused: Bool = Field(default=False, description="Skip this mapping until unpaused.")
    resource_types: list[Str] = Field(
        default_factory=list,
        description="Kinds to sync (plural, singular or short names, any case; 'resource.group' for custom "
        "resources). Empty or ['*'] = the default kinds.",
    )
    namespace_scoped_resources: list[Str] = Field(
        default_factory=list,
        description="Extra namespaced resources as 'resource.group' (e.g. widgets.example.com); ['*'] = all "
        "custom namespaced resources found in the source.",
    )
    sync_crds: Bool = Field(
        default=False, alias="syncCRDs", description="Copy the source's CustomResourceDefinitions first."
    )
    scale_to_zero: Bool = Field(
        default=True, description="Run DR Deployments and StatefulSets with 0 replicas (scale-override wins)."
    )
    pvc_config: PVCConfig = Field(
        default_factory=PVCConfig, description="How PVCs and their data are copied."
    )
    immutable_resource_config: ImmutableResourceConfig = Field(
        default_factory=ImmutableResourceConfig, description="What to do with immutable-field conflicts."
    )
    failure_handling: FailureHandling = Field(
        default_factory=FailureHandling, description="Accepted for compatibility; unused."
    )
    retry_config: RetryConfig = Field(
        default_factory=RetryConfig, description="Retries of transient failures."
    )
    continuous: ContinuousConfig = Field(
        default_factory=ContinuousConfig, description="Continuous mode settings."
    )
    namespace_config: NamespaceConfig = Field(
        default_factory=NamespaceConfig, description="How the destination namespace is handled."
    )
    ingress_config: IngressConfig = Field(
        default_factory=IngressConfig,
        description="Accepted for compatibility; Ingresses are copied verbatim.",
    )
    temp_pod_key_secret_ref: SecretReference | None = Field(
        default=None, description="Accepted for compatibility (DR-Syncer's unused temp-pod keys); ignored."
    )
    exclude_resources: list[ExcludeResource] = Field(
        default_factory=list, description="Our addition: objects (kind and name) never to sync."
    )
    label_selector: LabelSelector | None = Field(
        default=None, description="Our addition: sync only objects whose labels match."
    )
    prune: Bool = Field(
        default=False, description="Our addition: delete DR objects we manage whose source is gone."
    )
    workload_parking: list[WorkloadParkingEntry] = Field(
        default_factory=list,
        description="Our addition: custom kinds kept at rest in DR until cutover (group, kind and "
        "replicasPath or annotations); KEDA ScaledObjects are parked without configuration.",
    )
    per_cluster_objects: list[PerClusterObjectEntry] = Field(
        default_factory=list,
        description="Our addition: objects each cluster makes for itself, never copied (kind, name "
        "pattern), besides the default list (kube-root-ca.crt, istio-ca-root-cert, token Secrets, ...).",
    )
    service_config: ServiceConfig = Field(
        default_factory=ServiceConfig, description="Our addition: how Services are copied."
    )
    wildcard_config: WildcardConfig = Field(
        default_factory=WildcardConfig,
        description="Our addition: what namespaceScopedResources ['*'] expands to (see drsyncer/config/"
        "wildcard.py).",
    )

    @model_validator(mode="after")
    def _clusters_given(self) -> NamespaceMappingSpec:
        if self.cluster_mapping_ref is None and (
            self.source_cluster is None or self.destination_cluster is None
        ):
            missing = [
                name
                for name, value in (
                    ("sourceCluster", self.source_cluster),
                    ("destinationCluster", self.destination_cluster),
                )
                if value is None
            ]
            raise ValueError(
                f"no clusters: {' and '.join(missing)} missing; expected clusterMappingRef {{name}} or both "
                "sourceCluster and destinationCluster"
            )
        return self


class NamespaceMapping(ConfigModel):
    """A namespace to keep a DR copy of."""

    api_version: Literal["dr-syncer.io/v1alpha1"] = Field(
        default="dr-syncer.io/v1alpha1", description="dr-syncer.io/v1alpha1"
    )
    kind: Literal["NamespaceMapping"] = Field(default="NamespaceMapping", description="NamespaceMapping")
    metadata: ObjectMeta = Field(description="Name and namespace of the object.")
    spec: NamespaceMappingSpec = Field(description="What to sync and how.")
    status: Any = Field(default=None, exclude=True, description="Written by dr-syncer; ignored on input.")
