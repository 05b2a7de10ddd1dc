"""Filter → transform → plan, over everything discovery listed (design §4.2–§4.4). No I/O.

The input is the source and DR listings per kind plus the two Namespace objects; the output is the
ordered plan: the destination Namespace first, then every object in apply order, then prunes. Objects
the filter left out appear as ``skip`` entries with the filter's reason, so ``drsyncer plan`` and the
report can say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drsyncer.config.effective import EffectiveMapping
from drsyncer.labels import FIELD_MANAGER
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from tasks.discover.listing import KindListing
from tasks.filter.rules import filter_objects
from tasks.mapping_contexts import filter_context, transform_context
from tasks.plan.planner import PlanEntry, plan_namespace, plan_object, skipped_entry
from tasks.transform.runner import transform_object

SERVER_NAMESPACE_LABEL = "kubernetes.io/metadata.name"


@dataclass
class PreparedPlan:
    """The plan of one sync: the namespace entry and the object entries in apply order."""

    namespace: PlanEntry
    entries: list[PlanEntry]

    @property
    def all_entries(self) -> list[PlanEntry]:
        """Namespace first, then objects."""
        return [self.namespace, *self.entries]


def desired_namespace(mapping: EffectiveMapping, source_namespace: KubeObject) -> KubeObject:
    """The destination Namespace: the source's labels and annotations per ``namespaceConfig``."""
    config = mapping.namespace_config
    source_meta = source_namespace.get("metadata") or {}
    metadata: dict[str, object] = {"name": mapping.destination_namespace}
    if config.preserve_labels:
        labels = {k: v for k, v in (source_meta.get("labels") or {}).items() if k != SERVER_NAMESPACE_LABEL}
        if labels:
            metadata["labels"] = labels
    if config.preserve_annotations:
        annotations = {
            k: v
            for k, v in (source_meta.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"
        }
        if annotations:
            metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def prepare_plan(
    mapping: EffectiveMapping,
    listings: Sequence[KindListing],
    *,
    source_namespace: KubeObject,
    destination_namespace: KubeObject | None,
) -> PreparedPlan:
    """Plan the whole sync of ``mapping`` from what discovery found."""
    filtering = filter_context(mapping)
    transforming = transform_context(mapping)
    desired: list[KubeObject] = []
    live: list[KubeObject] = []
    skipped: list[PlanEntry] = []
    for listing in listings:
        result = filter_objects(listing.source, filtering)
        skipped.extend(skipped_entry(item) for item in result.skipped)
        desired.extend(transform_object(obj, transforming).obj for obj in result.kept)
        live.extend(listing.destination)
    entries = plan_namespace(
        desired, live, prune=mapping.prune, prune_pvcs=mapping.pvc_config.prune_pvcs, manager=FIELD_MANAGER
    )
    namespace_entry = plan_object(
        desired_namespace(mapping, source_namespace), destination_namespace, prune=False
    )
    return PreparedPlan(namespace=namespace_entry, entries=entries + skipped)


def planned_outcome(entry: PlanEntry) -> ObjectOutcome:
    """A plan entry as a report line (status ``planned``, or ``skipped``), with its reason and diff."""
    return ObjectOutcome(
        kind=entry.kind,
        name=entry.name,
        action=entry.action,
        status="skipped" if entry.action == "skip" else "planned",
        reason=entry.reason,
        diff=[{"path": d.path, "change": d.change, "before": d.before, "after": d.after} for d in entry.diff],
    )
