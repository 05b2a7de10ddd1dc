"""What the transformation rules know about the mapping they work for.

The flow builds one ``TransformContext`` per namespace mapping from the effective configuration and hands
it, with each object, to ``runner.transform_object``. It is deliberately free of the config package: rules
see plain, frozen values only.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """

    source_namespace: str
    destination_namespace: str
    scale_to_zero: bool = True
    storage_class_mappings: tuple[tuple[str, str], ...] = ()
    access_mode_mappings: tuple[tuple[str, str], ...] = ()
    preserve_volume_attributes: bool = False
    sync_persistent_volumes: bool = False
    rewrite_text_references: bool = False

    @property
    def renames_namespace(self) -> bool:
        """True when the DR namespace differs from the source namespace."""
        return self.source_namespace != self.destination_namespace
