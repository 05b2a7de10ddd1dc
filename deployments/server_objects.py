"""What ``drsyncer deploy`` creates on the Prefect server besides the deployments, idempotently.

- **Global concurrency limits** (see :mod:`tasks.concurrency_limits`): one per mapping (1 slot) and one
  rsync limit per DR cluster (``DRSYNCER_PVC_CONCURRENCY`` slots at deploy time). Flow runs still create a
  missing limit on first use, but when many runs start at one schedule tick they would all try to create
  the same limit at once (the losers' inserts fail on the server's unique name index). Created here, once,
  before any run, they are only read by the runs.
- **The zombie-run automation** (Prefect's "Detect zombie flows" recipe): a flow run of a dr-syncer flow
  whose process dies without reporting (its worker stopped, its node lost) stays ``Running`` forever. With
  ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` set for the runs (:data:`HEARTBEAT_SECONDS`), the server's
  automation marks a run ``Crashed`` once no heartbeat or final state has arrived for
  :data:`ZOMBIE_AFTER`. Crashed is visible, the previous DR copy is intact, and the next run repairs it.
  The automation matches only runs tagged :data:`HEARTBEAT_TAG`: the deployments ``drsyncer deploy``
  registers with the heartbeat frequency set for their runs. Runs at Prefect's default frequency (180 s:
  ``drsyncer serve``, other flows on a shared server, a pool whose environment lacks the setting) would
  look dead between two heartbeats, so they are never matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tasks.concurrency_limits import ensure_limit, mapping_limit, rsync_limit

if TYPE_CHECKING:
    from prefect.events.schemas.automations import AutomationCore

    from drsyncer.config.effective import Config

HEARTBEAT_ENV = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"
HEARTBEAT_SECONDS = 30
"""Seconds between a flow run's heartbeats (Prefect's minimum; its default is 180)."""
ZOMBIE_AFTER = timedelta(seconds=90)
"""A run is a zombie after this long without a heartbeat or a final state: three missed heartbeats."""
ZOMBIE_AUTOMATION = "dr-syncer: crash flow runs that stopped sending heartbeats"
HEARTBEAT_TAG = "dr-syncer-heartbeat"
"""Tag of the deployments whose runs send heartbeats every :data:`HEARTBEAT_SECONDS` (matched by the
automation)."""
FINAL_EVENTS = ("Completed", "Failed", "Cancelled", "Crashed")


def concurrency_limits(config: Config, *, pvc_concurrency: int) -> dict[str, int]:
    """The global concurrency limits (name → slots) the runs of ``config``'s mappings hold."""
    limits: dict[str, int] = {}
    for mapping in config.mappings:
        limits[mapping_limit(mapping.namespace, mapping.name)] = 1
        limits[rsync_limit(mapping.destination.name)] = max(1, pvc_concurrency)
    return limits


def with_heartbeat(variables: Mapping[str, Any], *, pool_type: str) -> dict[str, Any]:
    """``variables`` with the heartbeat frequency in the runs' environment, unless already set.

    Added where it replaces nothing: a process pool, or an ``env`` the deployment sets anyway. A
    Kubernetes pool's default ``env`` (from ``--kubernetes-job-template``) carries it itself; a
    deployment-level ``env`` added here would replace that default as a whole.
    """
    result = dict(variables)
    if pool_type != "process" and "env" not in result:
        return result
    result["env"] = {HEARTBEAT_ENV: str(HEARTBEAT_SECONDS), **result.get("env", {})}
    return result


def sends_heartbeats(variables: Mapping[str, Any], *, pool_template: Mapping[str, Any]) -> bool:
    """Whether runs with these job variables on a pool with this base job template send heartbeats at
    :data:`HEARTBEAT_SECONDS` (from the deployment's ``env`` or else the pool's default ``env``)."""
    env = variables.get("env")
    if env is None:
        properties = pool_template.get("variables", {}).get("properties", {})
        env = properties.get("env", {}).get("default") or {}
    return str(env.get(HEARTBEAT_ENV, "")) == str(HEARTBEAT_SECONDS)


def zombie_automation() -> AutomationCore:
    """The automation that marks a run tagged :data:`HEARTBEAT_TAG` ``Crashed`` when its heartbeats stop."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description=(
            f"A run of a dr-syncer flow that sent no heartbeat or final state for "
            f"{ZOMBIE_AFTER.total_seconds():.0f} s lost its process: mark it Crashed "
            "(created by drsyncer deploy)."
        ),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{state}" for state in FINAL_EVENTS)},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification(
                {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{HEARTBEAT_TAG}"}
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=ZOMBIE_AFTER,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                name="Crashed",
                force=False,  # a run that reached a final state meanwhile keeps it
                message=f"No heartbeat for {ZOMBIE_AFTER.total_seconds():.0f} s: the flow run's process is "
                "gone (worker stopped, node lost). The DR copy is as the previous run left it; the next "
                "run repairs it.",
            )
        ],
    )


def ensure_zombie_automation() -> bool:
    """Create :data:`ZOMBIE_AUTOMATION` unless an automation of that name exists; ``True`` if created.

    An existing one is left as it is (an operator may have tuned it in the UI).
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(ZOMBIE_AUTOMATION):
            return False
        client.create_automation(zombie_automation())
    return True


def ensure_concurrency_limits(limits: Mapping[str, int]) -> None:
    """Create every missing limit of ``limits``; existing limits keep their size."""
    for name, slots in limits.items():
        ensure_limit(name, slots)
