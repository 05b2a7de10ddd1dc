"""Filter → transform → plan, over everything discovery listed (design §4.2–§4.4). No I/O.

The input is the source and DR listings per kind plus the two Namespace objects; the output is the
ordered plan: the destination Namespace first, then every object in apply order, then prunes. Objects
the filter left out appear as ``skip`` entries with the filter's reason, so ``drsyncer plan`` and the
report can say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from drsyncer.config.effective import EffectiveMapping
from drsyncer.labels import FIELD_MANAGER
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from tasks.discover.listing import KindListing
from tasks.filter.rules import filter_objects, finished_job, owner_warning
from tasks.mapping_contexts import filter_context, transform_context
from tasks.plan.claim_checks import check_storage_classes, report_claim_template_changes
from tasks.plan.held_jobs import hold_finished_jobs
from tasks.plan.planner import PlanEntry, object_key, plan_namespace, plan_object, skipped_entry
from tasks.transform.namespace_metadata import is_cluster_specific
from tasks.transform.runner import transform_object


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
    """The destination Namespace: the source's labels and annotations per ``namespaceConfig``.

    Cluster-specific keys (``namespace_metadata.drop_cluster_specific_namespace_metadata``) are left out.
    """
    config = mapping.namespace_config
    extra = tuple(config.exclude_metadata)
    source_meta = source_namespace.get("metadata") or {}
    metadata: dict[str, object] = {"name": mapping.destination_namespace}
    for field, preserve in (("labels", config.preserve_labels), ("annotations", config.preserve_annotations)):
        values = {
            k: v for k, v in (source_meta.get(field) or {}).items() if not is_cluster_specific(k, extra)
        }
        if preserve and values:
            metadata[field] = values
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def prepare_plan(
    mapping: EffectiveMapping,
    listings: Sequence[KindListing],
    *,
    source_namespace: KubeObject,
    destination_namespace: KubeObject | None,
    dr_storage_classes: frozenset[str] | None = None,
) -> PreparedPlan:
    """Plan the whole sync of ``mapping`` from what discovery found.

    ``dr_storage_classes`` (the DR cluster's StorageClass names; None = not checked) lets the plan fail
    a claim whose class DR does not have, before anything is written.
    """
    filtering = filter_context(mapping)
    kept: list[KubeObject] = []
    live: list[KubeObject] = []
    skipped: list[PlanEntry] = []
    finished_jobs: list[KubeObject] = []
    for listing in listings:
        result = filter_objects(listing.source, filtering)
        skipped.extend(skipped_entry(item) for item in result.skipped)
        kept.extend(result.kept)
        live.extend(listing.destination)
        finished_jobs.extend(obj for obj in listing.source if finished_job(obj, filtering) is not None)
    synced_secrets = frozenset(
        str((obj.get("metadata") or {}).get("name", "")) for obj in kept if obj.get("kind") == "Secret"
    )
    transforming = replace(transform_context(mapping), synced_secrets=synced_secrets)
    desired: list[KubeObject] = []
    warnings: dict[tuple[str, str, str], str] = {}
    for obj in kept:
        transformed = transform_object(obj, transforming).obj
        desired.append(transformed)
        warning = owner_warning(obj)
        if warning is not None:
            warnings[object_key(transformed)] = warning
    entries = plan_namespace(
        desired, live, prune=mapping.prune, prune_pvcs=mapping.pvc_config.prune_pvcs, manager=FIELD_MANAGER
    )
    entries = [_with_warning(entry, warnings) for entry in entries]
    entries, held = hold_finished_jobs(
        entries, finished_sources=finished_jobs, live_objects=live, ctx=transforming
    )
    skipped = [entry for entry in skipped if not (entry.kind == "Job" and entry.name in held)]
    entries = report_claim_template_changes(entries)
    if dr_storage_classes is not None:
        entries = check_storage_classes(
            entries, storage_classes=dr_storage_classes, cluster=mapping.destination.name
        )
    namespace_entry = plan_object(
        desired_namespace(mapping, source_namespace), destination_namespace, prune=False
    )
    return PreparedPlan(namespace=namespace_entry, entries=entries + skipped)


def _with_warning(entry: PlanEntry, warnings: dict[tuple[str, str, str], str]) -> PlanEntry:
    if entry.obj is None or entry.action in ("prune", "skip"):
        return entry
    warning = warnings.get(object_key(entry.obj))
    return replace(entry, reason=f"{entry.reason}; {warning}") if warning else entry


def planned_outcome(entry: PlanEntry) -> ObjectOutcome:
    """A plan entry as a report line (status ``planned``, or ``skipped``), with its reason and diff."""
    return ObjectOutcome(
        kind=entry.kind,
        name=entry.name,
        action=entry.action,
        status="skipped" if entry.action == "skip" else "failed" if entry.error else "planned",
        reason=entry.reason,
        error=entry.error,
        diff=[{"path": d.path, "change": d.change, "before": d.before, "after": d.after} for d in entry.diff],
    )
