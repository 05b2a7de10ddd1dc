"""Syncing one changed source object: the sync pipeline for a single object (design §4, continuous mode).

The same rules as a full sync, applied to one object: the filter (a filtered-out object counts as gone),
the transformation rules, the planner against the live DR copy (one GET) and the applier. A deleted (or
no longer selected) source object prunes its DR copy only when dr-syncer manages it and ``prune`` is on
(PVCs only with ``pvcConfig.prunePVCs``), exactly as the full sync's plan would. An unchanged object sends
no write. A claim whose storage class DR does not have fails alone, as in a full sync's plan, and the
``default`` ServiceAccount keeps only the ``imagePullSecrets`` that name Secrets the mapping copies (one list
of the source's Secrets per ServiceAccount event, filtered as a full sync filters them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from drsyncer.config.effective import EffectiveMapping
from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource, Discovery
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from tasks.apply.applier import ApplyContext, apply_entry
from tasks.discover.listing import list_namespace
from tasks.discover.storage_classes import storage_class_names
from tasks.filter.rules import FilterContext, filter_objects, skip_reason
from tasks.mapping_contexts import filter_context, label_selector_query, transform_context
from tasks.plan.claim_checks import check_storage_classes
from tasks.plan.live_dr import WORKLOAD_KINDS, live_workload, live_workloads, refuse_live_dr
from tasks.plan.planner import PVC, PlanEntry, plan_object
from tasks.transform.context import TransformContext
from tasks.transform.pvcs import reconcile_pvc_with_live
from tasks.transform.runner import transform_object
from tasks.watch.events import WatchEvent

SECRETS = "secrets"
SERVICE_ACCOUNTS = "serviceaccounts"


@dataclass
class ObjectSyncer:
    """Everything needed to sync single objects of one mapping into its DR namespace."""

    mapping: EffectiveMapping
    destination: KubeClient
    destination_discovery: Discovery
    filtering: FilterContext
    transforming: TransformContext
    apply_context: ApplyContext
    source: KubeClient | None = None
    """The source cluster, to learn which Secrets the mapping copies (None: not known, keep them all)."""
    secrets: ApiResource | None = None
    """The source's Secrets resource when the mapping syncs Secrets (None: it copies no Secret)."""
    workloads: tuple[ApiResource, ...] = ()
    """The source's Deployments and StatefulSets resources in scope (for :meth:`refuse_if_dr_live`)."""

    @classmethod
    def for_mapping(
        cls,
        mapping: EffectiveMapping,
        *,
        destination: KubeClient,
        destination_discovery: Discovery,
        source: KubeClient | None = None,
        resources: list[ApiResource] | None = None,
    ) -> ObjectSyncer:
        """Contexts built from ``mapping`` the same way the full sync builds them.

        ``source`` and ``resources`` (the kinds in scope) let ServiceAccount events know which Secrets
        are copied; without them a ServiceAccount keeps every ``imagePullSecrets`` entry.
        """
        secrets = next((r for r in resources or [] if r.plural == SECRETS and r.group == ""), None)
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
            source=source,
            secrets=secrets,
            workloads=tuple(r for r in resources or [] if r.group == "apps" and r.kind in WORKLOAD_KINDS),
        )

    def refuse_if_dr_live(self) -> None:
        """Raise :class:`~tasks.plan.live_dr.DrLiveError` when DR runs after a cutover (lists per kind)."""
        if self.source is None:
            return
        sources: list[KubeObject] = []
        dr_objects: list[KubeObject] = []
        for resource in self.workloads:
            sources += list_namespace(self.source, resource, self.mapping.source_namespace)
            dr_resource = self.destination_discovery.find(resource.plural, resource.group)
            if dr_resource is not None:
                dr_objects += list_namespace(
                    self.destination, dr_resource, self.mapping.destination_namespace
                )
        refuse_live_dr(
            live_workloads(sources, dr_objects),
            mapping=self.mapping.name,
            dr_namespace=self.mapping.destination_namespace,
        )

    def desired(self, event: WatchEvent) -> KubeObject | None:
        """The DR form of the event's object, or None when it is gone or filtered out."""
        if event.type == "DELETED" or skip_reason(event.obj, self.filtering) is not None:
            return None
        transforming = self.transforming
        if event.resource.plural == SERVICE_ACCOUNTS and event.resource.group == "":
            transforming = replace(transforming, synced_secrets=self._synced_secrets())
        return transform_object(event.obj, transforming).obj

    def _synced_secrets(self) -> frozenset[str] | None:
        """Names of the source Secrets this mapping copies, as a full sync's filter decides them."""
        if self.source is None:
            return None
        if self.secrets is None:
            return frozenset()
        selector = label_selector_query(self.mapping)
        listed = list_namespace(
            self.source, self.secrets, self.mapping.source_namespace, label_selector=selector
        )
        kept = filter_objects(listed, self.filtering).kept
        return frozenset(str((obj.get("metadata") or {}).get("name", "")) for obj in kept)

    def plan(self, event: WatchEvent) -> PlanEntry | None:
        """The plan entry for the event's object (None when there is nothing on either side).

        Raises :class:`~tasks.plan.live_dr.DrLiveError` for a workload stopped by a cutover while DR runs it.
        """
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
        if event.type != "DELETED" and event.resource.group == "apps":
            running = live_workload({**event.obj, "kind": event.resource.kind}, live)
            refuse_live_dr(
                [running] if running else [],
                mapping=self.mapping.name,
                dr_namespace=self.mapping.destination_namespace,
            )
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
        entry = plan_object(desired, live, prune=self.mapping.prune)
        if entry.kind != PVC:
            return entry
        classes = storage_class_names(self.destination, [event.resource])
        if classes is None:
            return entry
        cluster = self.mapping.destination.name
        return check_storage_classes([entry], storage_classes=classes, cluster=cluster)[0]

    def sync(self, event: WatchEvent) -> ObjectOutcome | None:
        """Plan and apply the event's object; None when there was nothing to do on either side."""
        entry = self.plan(event)
        if entry is None:
            return None
        return apply_entry(self.apply_context, entry)
