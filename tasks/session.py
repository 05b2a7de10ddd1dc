"""A sync session: one mapping's two clusters, connected and checked, and the kinds to sync.

:func:`open_session` is the first thing every sync, plan and DR operation does. It fails early and
clearly — before anything is written — when a cluster cannot be reached, the source namespace does not
exist, or a cluster does not serve a requested built-in kind. Kinds that cannot be synced for a reason
of their own (their API group is down, DR lacks their CRD, no common version) become one report line
each in :attr:`SyncSession.kind_outcomes` and the others go on; :func:`prepare_kinds` copies CRDs first
when ``syncCRDs`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drsyncer.config.effective import EffectiveMapping
from drsyncer.kube.access import DR_ROLE_FILE, SOURCE_ROLE_FILE
from drsyncer.kube.client import KubeClient, object_path
from drsyncer.kube.connect import connect_cluster
from drsyncer.kube.discovery import (
    ApiResource,
    Discovery,
    GroupUnavailableError,
    require_namespace,
    server_version,
)
from drsyncer.objects import KubeObject
from drsyncer.report import ObjectOutcome
from tasks.apply.applier import ApplyContext
from tasks.apply.crds import EstablishedWait, crd_name, plan_crds, sync_crds
from tasks.discover.listing import (
    BUILTIN_GROUPS,
    KindListing,
    KindProblem,
    list_namespace,
    resolve_resources,
)
from tasks.discover.storage_classes import storage_class_names
from tasks.discover.version_negotiation import NoCommonVersion, negotiate
from tasks.mapping_contexts import label_selector_query
from tasks.prepare import PreparedPlan, planned_outcome, prepare_plan


@dataclass
class SyncSession:
    """Everything a sync of one mapping needs to talk to its clusters."""

    mapping: EffectiveMapping
    source: KubeClient
    destination: KubeClient
    source_discovery: Discovery
    destination_discovery: Discovery
    resources: list[ApiResource] = field(default_factory=list)
    kind_outcomes: list[ObjectOutcome] = field(default_factory=list)
    """One report line per kind left out at discovery time (failed, or skipped), not one per object."""
    resolution_warnings: list[str] = field(default_factory=list)
    """What resolving the kinds has to say (``["*"]`` could not read the APIService list)."""
    operation: str = "sync"
    """What this session's data copies are part of (``sync``, ``stage``, ``cutover``, ``failback``):
    the label of the restore points they take (``tasks/data/restore_points.py``)."""
    agent_host_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """``(cluster, node)`` → the host key that node's agent pod printed, read once per sync
    (``tasks/pvc_data.py``)."""

    def warnings(self) -> list[str]:
        """What went wrong without failing the sync: groups ``["*"]`` could not vet, unavailable API groups,
        API server Warning headers."""
        found: list[str] = list(self.resolution_warnings)
        for client, discovery in (
            (self.source, self.source_discovery),
            (self.destination, self.destination_discovery),
        ):
            found += [
                f"cluster {client.cluster!r}: API group {group_version} was left out: its discovery failed "
                f"({reason})"
                for group_version, reason in sorted(discovery.failures.items())
            ]
            found += [f"cluster {client.cluster!r}: {text}" for text in client.warnings]
        return list(dict.fromkeys(found))

    def retries(self) -> list[str]:
        """Every request either client retried (``cluster 'x': what: cause``), in order per cluster."""
        clients = (self.source, self.destination)
        return [f"cluster {client.cluster!r}: {line}" for client in clients for line in client.retries]

    def close(self) -> None:
        """Release both clients' connection pools."""
        self.source.close()
        self.destination.close()


def open_session(mapping: EffectiveMapping, *, controller: KubeClient | None = None) -> SyncSession:
    """Connect to both clusters of ``mapping``, check them, and resolve its kinds in the source."""
    source = connect_cluster(mapping.source, controller=controller)
    destination = connect_cluster(mapping.destination, controller=controller)
    source.role_file, destination.role_file = SOURCE_ROLE_FILE, DR_ROLE_FILE
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
    resolution = resolve_resources(
        session.source_discovery,
        mapping.resource_types,
        all_custom_resources=mapping.all_custom_resources,
        wildcard=mapping.spec.wildcard_config,
    )
    session.resources = resolution.resources
    session.kind_outcomes = [_kind_outcome(problem) for problem in resolution.problems]
    session.resolution_warnings = resolution.warnings
    _check_destination_kinds(session, custom=not mapping.sync_crds)
    return session


def prepare_kinds(
    session: SyncSession, *, plan_only: bool = False, wait: EstablishedWait | None = None
) -> list[ObjectOutcome]:
    """``syncCRDs``: copy the in-scope CRDs to DR (plan them only, with ``plan_only``) and wait until they
    are Established, refresh DR's discovery, then leave out the kinds DR still does not serve.

    Returns the CRDs' outcomes; without ``syncCRDs`` there is nothing to do. ``wait`` polls for
    Established (default: :data:`~tasks.apply.crds.ESTABLISHED_TIMEOUT`).
    """
    if not session.mapping.sync_crds:
        return []
    custom = [resource for resource in session.resources if resource.group not in BUILTIN_GROUPS]
    if not custom:
        return []
    if plan_only:
        entries = plan_crds(session.source, session.destination, custom)
        return [planned_outcome(entry) for entry in entries]
    context = ApplyContext(client=session.destination, discovery=session.destination_discovery, namespace="")
    outcomes = sync_crds(context, session.source, custom, wait=wait or EstablishedWait(session.destination))
    session.destination_discovery.invalidate()
    _check_destination_kinds(session, custom=True)
    return outcomes


def _check_destination_kinds(session: SyncSession, *, custom: bool) -> None:
    """Built-in kinds DR does not serve stop the mapping; custom kinds are left out, once per kind.

    Every kind kept is read at the version both clusters serve (:mod:`tasks.discover.version_negotiation`).
    """
    kept: list[ApiResource] = []
    for resource in session.resources:
        try:
            if resource.group in BUILTIN_GROUPS:
                session.destination_discovery.require(resource.plural, resource.group)
            elif not custom:
                kept.append(resource)
                continue
            elif session.destination_discovery.find(resource.plural, resource.group) is None:
                session.kind_outcomes.append(_missing_in_destination(session, resource))
                continue
        except GroupUnavailableError as error:
            session.kind_outcomes.append(
                _kind_outcome(KindProblem(resource.kind, resource.qualified_name, error.message, failed=True))
            )
            continue
        negotiated = negotiate(
            resource, source=session.source_discovery, destination=session.destination_discovery
        )
        if isinstance(negotiated, NoCommonVersion):
            session.kind_outcomes.append(
                _kind_outcome(
                    KindProblem(resource.kind, resource.qualified_name, negotiated.message, failed=True)
                )
            )
            continue
        kept.append(negotiated)
    session.resources = kept


def _missing_in_destination(session: SyncSession, resource: ApiResource) -> ObjectOutcome:
    cluster = session.destination.cluster
    discovery = session.destination_discovery
    reason = discovery.failure(resource.group)
    if reason is not None:
        message = (
            f"cluster {cluster!r} cannot serve {resource.qualified_name!r}: discovery of API group "
            f"{resource.group} failed: {reason}"
        )
        return _kind_outcome(KindProblem(resource.kind, resource.qualified_name, message, failed=True))
    if session.mapping.sync_crds:
        message = (
            f"CRD {crd_name(resource)} is still not served in cluster {cluster}; its objects were not synced"
        )
        return _kind_outcome(KindProblem(resource.kind, resource.qualified_name, message, failed=True))
    message = f"CRD {crd_name(resource)} is missing in cluster {cluster}; set syncCRDs or install it"
    return _kind_outcome(KindProblem(resource.kind, resource.qualified_name, message))


def _kind_outcome(problem: KindProblem) -> ObjectOutcome:
    """A kind-level report line: name ``*``, status ``failed`` or ``skipped``, with the reason."""
    return ObjectOutcome(
        kind=problem.kind,
        name="*",
        action="skip",
        status="failed" if problem.failed else "skipped",
        error=problem.reason if problem.failed else "",
        reason=problem.reason,
    )


def discover_listing(session: SyncSession, resource: ApiResource) -> KindListing:
    """List one kind in the source namespace and in the DR namespace (empty if DR lacks the kind)."""
    mapping = session.mapping
    listing = KindListing(resource=resource)
    listing.source = list_namespace(
        session.source, resource, mapping.source_namespace, label_selector=label_selector_query(mapping)
    )
    destination = session.destination_discovery.find_at(resource.plural, resource.group, resource.version)
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
    return prepare_plan(
        session.mapping,
        listings,
        source_namespace=source,
        destination_namespace=destination,
        dr_storage_classes=storage_class_names(session.destination, session.resources),
    )


def _namespace_path(name: str) -> str:
    return object_path(group="", version="v1", plural="namespaces", namespace=None, name=name)
