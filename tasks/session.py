"""A sync session: one mapping's two clusters, connected and checked, and the kinds to sync.

:func:`open_session` is the first thing every sync, plan and DR operation does. It fails early and
clearly — before anything is written — when a cluster cannot be reached, the source namespace does not
exist, or a cluster does not serve a requested kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drsyncer.config.effective import EffectiveMapping
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.kube.connect import connect_cluster
from drsyncer.kube.discovery import ApiResource, Discovery, require_namespace, server_version
from drsyncer.objects import KubeObject
from tasks.discover.listing import BUILTIN_GROUPS, KindListing, list_namespace, resolve_resources
from tasks.mapping_contexts import label_selector_query
from tasks.prepare import PreparedPlan, prepare_plan


@dataclass
class SyncSession:
    """Everything a sync of one mapping needs to talk to its clusters."""

    mapping: EffectiveMapping
    source: KubeClient
    destination: KubeClient
    source_discovery: Discovery
    destination_discovery: Discovery
    resources: list[ApiResource] = field(default_factory=list)

    def close(self) -> None:
        """Release both clients' connection pools."""
        self.source.close()
        self.destination.close()


def open_session(mapping: EffectiveMapping, *, controller: KubeClient | None = None) -> SyncSession:
    """Connect to both clusters of ``mapping``, check them, and resolve its kinds in the source."""
    source = connect_cluster(mapping.source, controller=controller)
    destination = connect_cluster(mapping.destination, controller=controller)
    server_version(source)
    server_version(destination)
    require_namespace(source, mapping.source_namespace, role="source")
    session = SyncSession(
        mapping=mapping,
        source=source,
        destination=destination,
        source_discovery=Discovery(source),
        destination_discovery=Discovery(destination),
    )
    session.resources = resolve_resources(
        session.source_discovery, mapping.resource_types, all_custom_resources=mapping.all_custom_resources
    )
    for resource in session.resources:
        if resource.group in BUILTIN_GROUPS:
            session.destination_discovery.require(resource.plural, resource.group)
    return session


def discover_listing(session: SyncSession, resource: ApiResource) -> KindListing:
    """List one kind in the source namespace and in the DR namespace (empty if DR lacks the kind)."""
    mapping = session.mapping
    listing = KindListing(resource=resource)
    listing.source = list_namespace(
        session.source, resource, mapping.source_namespace, label_selector=label_selector_query(mapping)
    )
    destination = session.destination_discovery.find(resource.plural, resource.group)
    if destination is not None:
        listing.destination = list_namespace(session.destination, destination, mapping.destination_namespace)
    return listing


def namespace_objects(session: SyncSession) -> tuple[KubeObject, KubeObject | None]:
    """The source Namespace object and the DR one (``None`` when it does not exist yet)."""
    mapping = session.mapping
    source = session.source.get(_namespace_path(mapping.source_namespace)) or {}
    destination = session.destination.get(_namespace_path(mapping.destination_namespace))
    return source, destination


def plan_session(session: SyncSession) -> PreparedPlan:
    """Discover and plan sequentially, without Prefect (``drsyncer plan``)."""
    listings = [discover_listing(session, resource) for resource in session.resources]
    source, destination = namespace_objects(session)
    return prepare_plan(session.mapping, listings, source_namespace=source, destination_namespace=destination)


def _namespace_path(name: str) -> str:
    return object_path(group="", version="v1", plural="namespaces", namespace=None, name=name)
