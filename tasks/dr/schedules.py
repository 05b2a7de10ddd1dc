"""The mapping's sync deployments during a cutover: paused, so a scheduled sync does not undo it.

After a cutover the source is stopped and DR runs; a scheduled ``namespace-sync`` of the mapping would copy
the stopped source over DR again (DR workloads back to 0). So a cutover pauses every Prefect deployment
tagged ``mapping:<name>`` (the deployments ``drsyncer serve``/``deploy`` create), and a failback resumes
them once DR is staged again. Pausing stops no run that has already started, so the cutover also cancels
the runs of those deployments that are pending or running (a continuous run above all): the worker or
``drsyncer serve`` that runs one then stops it, the Prefect way. A run started outside Prefect's workers
(a ``drsyncer sync`` in someone's terminal) is not stopped by a cancel; it refuses by itself once DR runs
(:mod:`tasks.plan.live_dr`).
"""

from __future__ import annotations

from uuid import UUID

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


ACTIVE_STATES = ("PENDING", "RUNNING", "SCHEDULED")
"""Run states a cancel ends: a scheduled run that is already due would otherwise still start."""


def cancel_sync_runs(mapping: EffectiveMapping, *, keep: frozenset[str] = frozenset()) -> list[str]:
    """Cancel the pending, running and scheduled runs of the mapping's sync deployments; return their names.

    ``keep`` holds flow-run ids never to cancel (the operation's own run and its parents).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled, Cancelling

    deployment_ids = [deployment_id for deployment_id, _, _ in _deployments(mapping)]
    if not deployment_ids:
        return []
    cancelled: list[str] = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[UUID(text) for text in deployment_ids]),
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType(name) for name in ACTIVE_STATES])
                ),
            )
        )
        for run in runs:
            if str(run.id) in keep:
                continue
            message = f"cancelled by a DR operation on mapping {mapping.name}: DR takes over"
            # A run that has not started has no process to stop: it is cancelled outright.
            not_started = run.state is not None and run.state.type == StateType.SCHEDULED
            client.set_flow_run_state(
                run.id, Cancelled(message=message) if not_started else Cancelling(message=message)
            )
            cancelled.append(run.name)
    return cancelled
