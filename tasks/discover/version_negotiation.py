"""Version negotiation: at which API version each kind is read at the source and written in DR.

The source and DR may run different Kubernetes versions, or serve a CRD at different versions. Reading
the source at *its* preferred version and writing that body to DR under DR's version would relabel the
object without converting it. Instead each kind is read at a version both clusters serve — DR's
preferred version when the source serves the kind there, else the first of DR's versions (in DR's
priority order) that the source serves — and both the source and the DR listings use that version, so
the API servers do the conversion and the plan compares like with like. Without a common version the
kind fails, naming both clusters' versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from drsyncer.kube.discovery import ApiResource, Discovery


@dataclass(frozen=True)
class NoCommonVersion:
    """The source and DR serve a kind at no common version."""

    message: str


def common_version(*, source_versions: list[str], destination_versions: list[str]) -> str | None:
    """DR's first version (DR's priority order: preferred first) that the source also serves."""
    for version in destination_versions:
        if version in source_versions:
            return version
    return None


def serving_versions(discovery: Discovery, resource: ApiResource) -> list[str]:
    """The versions (group priority order) at which ``discovery``'s cluster serves ``resource``'s kind."""
    return [
        version
        for version in discovery.served_versions(resource.group)
        if discovery.find_at(resource.plural, resource.group, version) is not None
    ]


def negotiate(
    resource: ApiResource, *, source: Discovery, destination: Discovery
) -> ApiResource | NoCommonVersion:
    """``resource`` (the source's, at its preferred version) at the version both clusters should use.

    The common case costs no extra request: DR's preferred version, served by the source too.
    """
    preferred = destination.preferred_versions().get(resource.group)
    if preferred is not None and destination.find_at(resource.plural, resource.group, preferred) is not None:
        if preferred == resource.version:
            return resource
        at_preferred = source.find_at(resource.plural, resource.group, preferred)
        if at_preferred is not None:
            return at_preferred
    source_versions = serving_versions(source, resource)
    destination_versions = serving_versions(destination, resource)
    version = common_version(source_versions=source_versions, destination_versions=destination_versions)
    if version is not None:
        found = source.find_at(resource.plural, resource.group, version)
        if found is not None:
            return found
    return NoCommonVersion(
        f"no common version of {resource.qualified_name}: cluster {source.client.cluster!r} serves "
        f"{', '.join(source_versions) or 'none'}, cluster {destination.client.cluster!r} serves "
        f"{', '.join(destination_versions) or 'none'}"
    )
