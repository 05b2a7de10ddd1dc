"""From an effective mapping to the contexts the pure rule layers take.

The filter, transform and plan modules know nothing of the configuration models; this module is the one
place that reads a :class:`~drsyncer.config.effective.EffectiveMapping` for them.
"""

from __future__ import annotations

from drsyncer.config.effective import EffectiveMapping
from tasks.filter.per_cluster import PerClusterObject
from tasks.filter.rules import FilterContext
from tasks.filter.selectors import LabelSelector
from tasks.transform.context import DEFAULT_WORKLOAD_PARKING, TransformContext, WorkloadParking


def transform_context(mapping: EffectiveMapping) -> TransformContext:
    """The transformation settings of ``mapping``."""
    pvc = mapping.pvc_config
    return TransformContext(
        source_namespace=mapping.source_namespace,
        destination_namespace=mapping.destination_namespace,
        scale_to_zero=mapping.scale_to_zero,
        storage_class_mappings=tuple((m.from_, m.to) for m in pvc.storage_class_mappings),
        access_mode_mappings=tuple((m.from_, m.to) for m in pvc.access_mode_mappings),
        preserve_volume_attributes=pvc.preserve_volume_attributes,
        sync_persistent_volumes=pvc.sync_persistent_volumes,
        rewrite_text_references=mapping.namespace_config.rewrite_text_references,
        workload_parking=workload_parking(mapping),
        load_balancer=mapping.spec.service_config.load_balancer.value,
        namespace_metadata_excludes=tuple(mapping.namespace_config.exclude_metadata),
    )


def workload_parking(mapping: EffectiveMapping) -> tuple[WorkloadParking, ...]:
    """The built-in parking rules (KEDA ScaledObjects) and the mapping's ``workloadParking`` (later wins)."""
    configured = tuple(
        WorkloadParking(
            group=entry.group,
            kind=entry.kind,
            replicas_path=tuple(entry.replicas_path.split(".")) if entry.replicas_path else None,
            annotations=tuple(sorted(entry.annotations.items())),
        )
        for entry in mapping.spec.workload_parking
    )
    return (*DEFAULT_WORKLOAD_PARKING, *configured)


def filter_context(mapping: EffectiveMapping) -> FilterContext:
    """The filtering settings of ``mapping``."""
    selector = mapping.label_selector
    return FilterContext(
        exclude_resources=tuple((entry.kind, entry.name) for entry in mapping.exclude_resources),
        label_selector=LabelSelector.from_dict(selector.model_dump(by_alias=True, exclude_none=True))
        if selector is not None
        else None,
        per_cluster_objects=tuple(
            PerClusterObject(entry.kind, entry.name, "listed in perClusterObjects")
            for entry in mapping.spec.per_cluster_objects
        ),
    )


def label_selector_query(mapping: EffectiveMapping) -> str:
    """The ``labelSelector`` query string for ``matchLabels`` (server-side narrowing of source lists)."""
    selector = mapping.label_selector
    if selector is None or selector.match_expressions:
        return ""
    return ",".join(f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items()))
