"""What the transformation rules know about the mapping they work for.

The flow builds one ``TransformContext`` per namespace mapping from the effective configuration and hands
it, with each object, to ``runner.transform_object``. It is deliberately free of the config package: rules
see plain, frozen values only.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.field_paths import FieldPath

LOAD_BALANCER_KEEP = "Keep"
LOAD_BALANCER_CLUSTER_IP = "ClusterIP"


@dataclass(frozen=True)
class WorkloadParking:
    """How DR keeps one custom workload kind at rest: a replica field set to 0, or annotations added.

    Attributes:
        group: API group of the kind (``argoproj.io``); '' for the core group.
        kind: The kind (``Rollout``).
        replicas_path: Field holding the replica count (``("spec", "replicas")``); set to 0 in DR.
        annotations: ``(key, value)`` annotations that pause the kind (KEDA's ``paused-replicas: "0"``).
    """

    group: str
    kind: str
    replicas_path: FieldPath | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    def matches(self, api_version: str, kind: str) -> bool:
        """True for objects of this group and kind."""
        return kind == self.kind and api_version.rpartition("/")[0] == self.group


KEDA_SCALED_OBJECT = WorkloadParking(
    group="keda.sh", kind="ScaledObject", annotations=(("autoscaling.keda.sh/paused-replicas", "0"),)
)
DEFAULT_WORKLOAD_PARKING: tuple[WorkloadParking, ...] = (KEDA_SCALED_OBJECT,)
"""Parked without configuration: KEDA ScaledObjects would scale parked Deployments up from 0."""


@dataclass(frozen=True)
class TransformContext:
    """The settings of one namespace mapping that the transformation rules read.

    Attributes:
        source_namespace: Namespace the objects come from.
        destination_namespace: Namespace the DR copies go to (may equal ``source_namespace``).
        scale_to_zero: DR Deployments/StatefulSets/ReplicaSets get 0 replicas unless scale-overridden.
        storage_class_mappings: ``(from, to)`` storage class pairs; the first matching ``from`` wins.
        access_mode_mappings: ``(from, to)`` access mode pairs; one lookup per mode, no cascading.
        preserve_volume_attributes: Keep PVC ``volumeMode``, ``selector``, ``dataSource(Ref)``.
        sync_persistent_volumes: Keep PVC ``volumeName`` (and the volume attributes); rewrite PV claimRefs.
        rewrite_text_references: Rewrite ``<name>.<source-ns>.svc`` names in env values and ConfigMap data.
        workload_parking: How custom workload kinds are kept at rest (defaults plus ``workloadParking``).
        synced_secrets: Names of the Secrets this sync copies (None: not known, ServiceAccounts keep
            their ``imagePullSecrets``).
        load_balancer: ``Keep`` LoadBalancer Services as they are, or turn them into ``ClusterIP``.
        namespace_metadata_excludes: Extra namespace label/annotation key patterns not copied.
    """

    source_namespace: str
    destination_namespace: str
    scale_to_zero: bool = True
    storage_class_mappings: tuple[tuple[str, str], ...] = ()
    access_mode_mappings: tuple[tuple[str, str], ...] = ()
    preserve_volume_attributes: bool = False
    sync_persistent_volumes: bool = False
    rewrite_text_references: bool = False
    workload_parking: tuple[WorkloadParking, ...] = DEFAULT_WORKLOAD_PARKING
    synced_secrets: frozenset[str] | None = None
    load_balancer: str = LOAD_BALANCER_KEEP
    namespace_metadata_excludes: tuple[str, ...] = ()

    def parking_for(self, api_version: str, kind: str) -> WorkloadParking | None:
        """The parking rule of objects of ``api_version``/``kind`` (the last matching entry wins)."""
        found = [entry for entry in self.workload_parking if entry.matches(api_version, kind)]
        return found[-1] if found else None

    @property
    def renames_namespace(self) -> bool:
        """True when the DR namespace differs from the source namespace."""
        return self.source_namespace != self.destination_namespace
