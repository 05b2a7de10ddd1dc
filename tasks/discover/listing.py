"""Resolving the mapping's resource types against a cluster and listing a namespace, kind by kind.

Plain functions over :class:`~drsyncer.kube.client.KubeClient`; the Prefect task wrappers are in
:mod:`tasks.discover.tasks`. Lists are paginated (``limit``/``continue``) and list items get their
``apiVersion`` and ``kind`` back (the API server leaves them out of list items).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from drsyncer.config.resource_types import SYNCABLE
from drsyncer.kube.client import KubeClient
from drsyncer.kube.discovery import ApiResource, Discovery
from drsyncer.objects import KubeObject

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


def resolve_resources(
    discovery: Discovery, names: Sequence[str], *, all_custom_resources: bool = False
) -> list[ApiResource]:
    """The served :class:`ApiResource` for each name, in order; a missing one is a ClusterError."""
    resolved = [discovery.require(*split_resource_name(name)) for name in names]
    if all_custom_resources:
        seen = {resource.qualified_name for resource in resolved}
        for resource in discovery.namespaced_custom_resources(BUILTIN_GROUPS):
            if resource.qualified_name not in seen and "list" in resource.verbs:
                resolved.append(resource)
                seen.add(resource.qualified_name)
    return resolved


@dataclass
class KindListing:
    """The objects of one kind in the source namespace and in the DR namespace."""

    resource: ApiResource
    source: list[KubeObject] = field(default_factory=list)
    destination: list[KubeObject] = field(default_factory=list)


def list_namespace(
    client: KubeClient, resource: ApiResource, namespace: str | None, *, label_selector: str = ""
) -> list[KubeObject]:
    """Every object of ``resource`` in ``namespace`` (all pages), with apiVersion and kind set."""
    items, _ = client.list(resource.path(namespace), label_selector=label_selector)
    for item in items:
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items
