"""Resolving the mapping's resource types against a cluster and listing a namespace, kind by kind.

Plain functions over :class:`~drsyncer.kube.client.KubeClient`; the Prefect task wrappers are in
:mod:`tasks.discover.tasks`. Lists are paginated (``limit``/``continue``) and list items get their
``apiVersion`` and ``kind`` back (the API server leaves them out of list items).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from drsyncer.config.resource_types import SYNCABLE
from drsyncer.config.wildcard import WildcardConfig
from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource, Discovery, GroupUnavailableError
from drsyncer.objects import KubeObject
from tasks.discover.expansion import expansion_context, group_verdict, origin_unknown, resource_verdict

BUILTIN_GROUPS = frozenset(
    {rt.group for rt in SYNCABLE.values()}
    | {
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "admissionregistration.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "node.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "resource.k8s.io",
        "metrics.k8s.io",
        "dr-syncer.io",
    }
)


def split_resource_name(name: str) -> tuple[str, str]:
    """Resource name → (plural, group): ``deployments`` → (``deployments``, ``apps``),
    ``widgets.example.com`` → (``widgets``, ``example.com``)."""
    known = SYNCABLE.get(name)
    if known is not None:
        return known.plural, known.group
    plural, _, group = name.partition(".")
    return plural, group


@dataclass(frozen=True)
class KindProblem:
    """A kind left out at discovery time: reported once for the whole kind, not per object."""

    kind: str
    """The Kind when known, else the resource or group name."""
    resource: str
    """``plural.group`` (or the group, for a whole group left out)."""
    reason: str
    failed: bool = False
    """``True``: the kind fails (the user listed it); ``False``: it is skipped."""


@dataclass
class Resolution:
    """The kinds a sync copies, and the kinds it leaves out with the reason."""

    resources: list[ApiResource] = field(default_factory=list)
    problems: list[KindProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the report should say besides the kind lines (``["*"]`` could not vet some groups)."""


def resolve_resources(
    discovery: Discovery,
    names: Sequence[str],
    *,
    all_custom_resources: bool = False,
    wildcard: WildcardConfig | None = None,
) -> Resolution:
    """The served :class:`ApiResource` for each name, in order, then ``["*"]``'s expansion.

    A kind listed by name whose API group failed discovery fails alone (a :class:`KindProblem` with the
    reason); a kind the cluster does not serve at all is a :class:`ClusterError` for the whole mapping.
    ``["*"]`` follows :mod:`tasks.discover.expansion`; what it leaves out is reported as skipped.
    """
    resolution = Resolution()
    for name in names:
        try:
            resolution.resources.append(discovery.require(*split_resource_name(name)))
        except GroupUnavailableError as error:
            resolution.problems.append(
                KindProblem(kind=name, resource=name, reason=error.message, failed=True)
            )
    if all_custom_resources:
        _expand_wildcard(discovery, resolution, wildcard or WildcardConfig())
    return resolution


def _expand_wildcard(discovery: Discovery, resolution: Resolution, wildcard: WildcardConfig) -> None:
    seen = {resource.qualified_name for resource in resolution.resources}
    seen |= {problem.resource for problem in resolution.problems}
    groups = [group for group in sorted(discovery.preferred_versions()) if group not in BUILTIN_GROUPS]
    needs_apiservices = bool(groups) and not wildcard.include_aggregated_apis
    context = expansion_context(
        non_local_groups=discovery.non_local_groups() if needs_apiservices else frozenset(),
        excluded=wildcard.excluded,
        include_aggregated=wildcard.include_aggregated_apis,
    )
    unvetted: list[str] = []
    for group in groups:
        reason = group_verdict(group, context)
        if reason is not None:
            if group not in context.excluded:
                resolution.problems.append(KindProblem(kind=group, resource=group, reason=reason))
                if origin_unknown(group, context) is not None:
                    unvetted.append(group)
            continue
        for resource in discovery.resources(group):
            if not resource.namespaced or resource.qualified_name in seen:
                continue
            seen.add(resource.qualified_name)
            reason = resource_verdict(resource, context)
            if reason is None:
                resolution.resources.append(resource)
            else:
                resolution.problems.append(
                    KindProblem(kind=resource.kind, resource=resource.qualified_name, reason=reason)
                )
    if unvetted:
        resolution.warnings.append(
            f'cluster {discovery.client.cluster!r}: namespaceScopedResources ["*"] left out API groups '
            f"{', '.join(unvetted)} (it cannot tell them from aggregated APIs without the APIService "
            f"list): {discovery.apiservices_error}"
        )


@dataclass
class KindListing:
    """The objects of one kind in the source namespace and in the DR namespace."""

    resource: ApiResource
    source: list[KubeObject] = field(default_factory=list)
    destination: list[KubeObject] = field(default_factory=list)


PAGE_SIZES: dict[tuple[str, str], int] = {("", "secrets"): 50, ("", "configmaps"): 100}
"""Objects per list page for kinds whose objects can be large (up to ~1.5 MiB each): a page of 500
Secrets could be hundreds of MB in one response. Other kinds: :data:`DEFAULT_PAGE_SIZE`."""
DEFAULT_PAGE_SIZE = 500


def page_size(resource: ApiResource) -> int:
    """Objects per list page for ``resource`` (smaller for Secrets and ConfigMaps)."""
    return PAGE_SIZES.get((resource.group, resource.plural), DEFAULT_PAGE_SIZE)


def list_namespace(
    client: KubeClient, resource: ApiResource, namespace: str | None, *, label_selector: str = ""
) -> list[KubeObject]:
    """Every object of ``resource`` in ``namespace`` (all pages), with apiVersion and kind set."""
    items, _ = client.list(
        resource.path(namespace), label_selector=label_selector, page_size=page_size(resource)
    )
    for item in items:
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items
