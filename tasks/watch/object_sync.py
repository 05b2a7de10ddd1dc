"""Syncing one changed source object: the sync pipeline for a single object (design §4, continuous mode).

The same rules as a full sync, applied to one object: the filter (a filtered-out object counts as gone),
the transformation rules, the planner against the live DR copy (one GET) and the applier. A deleted (or
no longer selected) source object prunes its DR copy only when dr-syncer manages it and ``prune`` is on
(PVCs only with ``pvcConfig.prunePVCs``), exactly as the full sync's plan would. An unchanged object sends
no write.
"""

from __future__ import annotations

from dataclasses import dataclass

from drsyncer.config.effective import EffectiveMapping
from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import Discovery
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from tasks.apply.applier import ApplyContext, apply_entry
from tasks.filter.rules import FilterContext, skip_reason
from tasks.mapping_contexts import filter_context, transform_context
from tasks.plan.planner import PVC, PlanEntry, plan_object
from tasks.transform.context import TransformContext
from tasks.transform.pvcs import reconcile_pvc_with_live
from tasks.transform.runner import transform_object
from tasks.watch.events import WatchEvent


@dataclass
class ObjectSyncer:
    """Everything needed to sync single objects of one mapping into its DR namespace."""

    mapping: EffectiveMapping
    destination: KubeClient
    destination_discovery: Discovery
    filtering: FilterContext
    transforming: TransformContext
    apply_context: ApplyContext

    @classmethod
    def for_mapping(
        cls, mapping: EffectiveMapping, *, destination: KubeClient, destination_discovery: Discovery
    ) -> ObjectSyncer:
        """Contexts built from ``mapping`` the same way the full sync builds them."""
        return cls(
            mapping=mapping,
            destination=destination,
            destination_discovery=destination_discovery,
            filtering=filter_context(mapping),
            transforming=transform_context(mapping),
            apply_context=ApplyContext(
                client=destination,
                discovery=destination_discovery,
                namespace=mapping.destination_namespace,
                immutable=mapping.immutable_resource_config,
            ),
        )

    def desired(self, event: WatchEvent) -> KubeObject | None:
        """The DR form of the event's object, or None when it is gone or filtered out."""
        if event.type == "DELETED" or skip_reason(event.obj, self.filtering) is not None:
            return None
        return transform_object(event.obj, self.transforming).obj

    def plan(self, event: WatchEvent) -> PlanEntry | None:
        """The plan entry for the event's object (None when there is nothing on either side)."""
        resource = self.destination_discovery.find(event.resource.plural, event.resource.group)
        desired = self.desired(event)
        if resource is None:
            if desired is None:
                return None
            return PlanEntry(
                kind=event.resource.kind,
                name=event.name,
                action="create",
                reason="not in the DR namespace",
                api_version=event.resource.api_version,
                obj=desired,
            )
        live = self.destination.get(resource.path(self.mapping.destination_namespace, event.name))
        if desired is None and live is None:
            return None
        if desired is not None and live is not None and desired.get("kind") == PVC:
            desired = reconcile_pvc_with_live(desired, live)
        if (
            desired is None
            and live is not None
            and live.get("kind") == PVC
            and not self.mapping.pvc_config.prune_pvcs
        ):
            return PlanEntry(PVC, event.name, "skip", [], "PVCs are pruned only with pvcConfig.prunePVCs")
        return plan_object(desired, live, prune=self.mapping.prune)

    def sync(self, event: WatchEvent) -> ObjectOutcome | None:
        """Plan and apply the event's object; None when there was nothing to do on either side."""
        entry = self.plan(event)
        if entry is None:
            return None
        return apply_entry(self.apply_context, entry)
