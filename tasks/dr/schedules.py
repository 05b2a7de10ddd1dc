"""The mapping's sync deployments during a cutover: paused, so a scheduled sync does not undo it.

After a cutover the source is stopped and DR runs; a scheduled ``namespace-sync`` of the mapping would copy
the stopped source over DR again (DR workloads back to 0). So a cutover pauses every Prefect deployment
tagged ``mapping:<name>`` (the deployments ``drsyncer serve``/``deploy`` create), and a failback resumes
them once DR is staged again. A running continuous-sync flow run is not stopped by pausing its deployment:
cancel it before a cutover (the disaster-day guide says how).
"""

from __future__ import annotations

from drsyncer.config.effective import EffectiveMapping


def _deployments(mapping: EffectiveMapping) -> list[tuple[str, str, bool]]:
    """``(id, name, paused)`` of the deployments tagged ``mapping:<name>``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[f"mapping:{mapping.name}"]))
        )
    return [(str(d.id), d.name, bool(d.paused)) for d in found]


def pause_sync_deployments(mapping: EffectiveMapping) -> list[str]:
    """Pause the mapping's running sync deployments; return the names of those paused now."""
    from prefect.client.orchestration import get_client

    paused: list[str] = []
    with get_client(sync_client=True) as client:
        for deployment_id, name, is_paused in _deployments(mapping):
            if not is_paused:
                client.pause_deployment(deployment_id)
                paused.append(name)
    return paused


def resume_sync_deployments(mapping: EffectiveMapping) -> list[str]:
    """Resume the mapping's paused sync deployments; return the names of those resumed now."""
    from prefect.client.orchestration import get_client

    resumed: list[str] = []
    with get_client(sync_client=True) as client:
        for deployment_id, name, is_paused in _deployments(mapping):
            if is_paused:
                client.resume_deployment(deployment_id)
                resumed.append(name)
    return resumed
