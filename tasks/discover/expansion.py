"""What ``namespaceScopedResources: ["*"]`` expands to: one ordered tuple of pure rules.

Group rules look at an API group before its resources are even discovered (so a default-excluded or
aggregated group that is down costs nothing); resource rules look at one discovered resource. Each
answers ``None`` (keep) or the reason it is left out; the first reason wins and is what the report
shows. Resources the user named explicitly never pass through
these rules. The user-facing list and its defaults live in :mod:`drsyncer.config.wildcard`.

When the cluster's APIService list cannot be read (RBAC), which groups are aggregated is unknown; then
``["*"]`` leaves out every group it would have had to vet (:func:`origin_unknown`) rather than guess them
local: an aggregated group can duplicate a CRD group (Calico), be read-only, or be down, so copying it
blindly fails on every run. Built-in kinds and kinds named explicitly are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from drsyncer.kube.discovery import ApiResource

REQUIRED_VERBS: tuple[str, ...] = ("list", "get", "create", "patch", "delete")
"""What dr-syncer does to a kind: list and get at the source, create, patch and delete (prune) in DR."""


@dataclass(frozen=True)
class ExpansionContext:
    """What the rules need to know besides the resource."""

    non_local_groups: frozenset[str] | None
    """Groups served through an APIService; ``None`` when the APIService list could not be read."""
    excluded: frozenset[str]
    include_aggregated: bool = False


def excluded_group(group: str, context: ExpansionContext) -> str | None:
    """Groups on ``wildcardConfig.excluded`` (default: snapshots, metrics, reports...) are not even read."""
    return f"{group} is on wildcardConfig.excluded" if group in context.excluded else None


def served_by_aggregator(group: str, context: ExpansionContext) -> str | None:
    """Groups served through an APIService (not by the API server itself), unless included."""
    if (
        context.include_aggregated
        or context.non_local_groups is None
        or group not in context.non_local_groups
    ):
        return None
    return (
        f"{group} is served by an aggregated API (APIService); set "
        "wildcardConfig.includeAggregatedAPIs to copy it"
    )


def origin_unknown(group: str, context: ExpansionContext) -> str | None:
    """Without the APIService list, a group might be aggregated: it is left out rather than guessed local."""
    if context.include_aggregated or context.non_local_groups is not None:
        return None
    return (
        f"{group} may be served by an aggregated API (the APIService list could not be read); grant list "
        "on apiservices in apiGroup apiregistration.k8s.io, or name its kinds in namespaceScopedResources"
    )


def excluded_resource(resource: ApiResource, context: ExpansionContext) -> str | None:
    """Resources (``plural.group``) on ``wildcardConfig.excluded``."""
    name = resource.qualified_name
    return f"{name} is on wildcardConfig.excluded" if name in context.excluded else None


def lacks_verbs(resource: ApiResource, context: ExpansionContext) -> str | None:
    """Only resources supporting list, get, create, patch and delete can be copied."""
    missing = [verb for verb in REQUIRED_VERBS if verb not in resource.verbs]
    if not missing:
        return None
    return f"{resource.qualified_name} does not support {', '.join(missing)} (read-only or virtual)"


GROUP_RULES: tuple[Callable[[str, ExpansionContext], str | None], ...] = (
    excluded_group,
    served_by_aggregator,
    origin_unknown,
)
"""Applied to each API group before its resources are discovered; the first reason is reported."""

RESOURCE_RULES: tuple[Callable[[ApiResource, ExpansionContext], str | None], ...] = (
    excluded_resource,
    lacks_verbs,
)
"""Applied to each namespaced resource of a group the group rules kept."""


def group_verdict(group: str, context: ExpansionContext) -> str | None:
    """``None`` when ``["*"]`` looks into ``group``, else why it is left out."""
    for rule in GROUP_RULES:
        reason = rule(group, context)
        if reason is not None:
            return reason
    return None


def resource_verdict(resource: ApiResource, context: ExpansionContext) -> str | None:
    """``None`` when ``["*"]`` includes ``resource``, else why it is left out."""
    for rule in RESOURCE_RULES:
        reason = rule(resource, context)
        if reason is not None:
            return reason
    return None


def expansion_context(
    *, non_local_groups: frozenset[str] | None, excluded: Collection[str], include_aggregated: bool
) -> ExpansionContext:
    """An :class:`ExpansionContext` with names normalised to lower case."""
    return ExpansionContext(
        non_local_groups=non_local_groups,
        excluded=frozenset(name.strip().lower() for name in excluded),
        include_aggregated=include_aggregated,
    )
