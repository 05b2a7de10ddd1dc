"""Health probes of a side: wait (with a deadline) until its pods are gone, or until they are ready.

Probes read live state and never change anything, so a retried operation always runs them again (they are
never checkpointed). Time is a parameter (``clock``, ``sleep``) so tests drive it without sleeping.
A probe that misses its deadline raises :class:`ProbeTimeoutError` naming each workload still not there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drsyncer.config.effective import EffectiveMapping
from drsyncer.errors import DrSyncerError
from drsyncer.kube.client import object_path
from drsyncer.objects import KubeObject
from tasks.dr.workloads import (
    CRONJOB,
    DAEMONSET,
    SUSPENDABLE,
    Side,
    list_workloads,
    replicas_of,
    workload_ref,
)
from tasks.filter.selectors import LabelSelector

POLL_SECONDS = 0.5


class ProbeTimeoutError(DrSyncerError):
    """A side did not reach the wanted state before the deadline."""


@dataclass
class ProbeResult:
    """Per workload (``Kind/name``): ``stopped``/``ready`` or what is still missing; seconds waited."""

    workloads: dict[str, str] = field(default_factory=dict)
    waited_seconds: float = 0.0

    @property
    def pending(self) -> dict[str, str]:
        """The workloads not yet in the wanted state."""
        return {ref: state for ref, state in self.workloads.items() if state not in ("stopped", "ready")}


def _pods(side: Side) -> list[KubeObject]:
    path = object_path(group="", version="v1", plural="pods", namespace=side.namespace)
    items, _ = side.client.list(path)
    return items


def _pods_of(workload: KubeObject, pods: list[KubeObject]) -> list[KubeObject]:
    selector = (workload.get("spec") or {}).get("selector")
    if not selector:
        return []
    matcher = LabelSelector.from_dict(selector)
    return [pod for pod in pods if matcher.matches((pod.get("metadata") or {}).get("labels") or {})]


def stopped_state(workloads: list[KubeObject], pods: list[KubeObject]) -> dict[str, str]:
    """``stopped`` per workload with no pod left (terminating pods count), else ``N pods left``."""
    state: dict[str, str] = {}
    for workload in workloads:
        if workload.get("kind") == CRONJOB.kind:
            continue
        left = len(_pods_of(workload, pods))
        state[workload_ref(workload)] = "stopped" if left == 0 else f"{left} pods left"
    return state


def ready_state(workloads: list[KubeObject]) -> dict[str, str]:
    """``ready`` per workload whose controller saw its latest spec and has every wanted pod ready."""
    state: dict[str, str] = {}
    for workload in workloads:
        if workload.get("kind") in SUSPENDABLE:
            continue
        status = workload.get("status") or {}
        generation = (workload.get("metadata") or {}).get("generation")
        observed = status.get("observedGeneration")
        if generation is not None and observed is not None and observed < generation:
            state[workload_ref(workload)] = "spec not yet observed"
            continue
        if workload.get("kind") == DAEMONSET.kind:
            wanted = int(status.get("desiredNumberScheduled", 0))
            ready = int(status.get("numberReady", 0))
        else:
            wanted = replicas_of(workload)
            ready = int(status.get("readyReplicas", 0))
        state[workload_ref(workload)] = "ready" if ready >= wanted else f"{ready}/{wanted} ready"
    return state


def _wait(
    probe: Callable[[], dict[str, str]],
    *,
    what: str,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> ProbeResult:
    started = clock()
    while True:
        result = ProbeResult(workloads=probe(), waited_seconds=clock() - started)
        if not result.pending:
            return result
        if result.waited_seconds >= timeout:
            detail = ", ".join(f"{ref}: {state}" for ref, state in result.pending.items())
            raise ProbeTimeoutError(
                f"{what} within {timeout:.0f} s: {detail}",
                fix="look at the pods and events of those workloads; the operation can be resumed",
            )
        sleep(POLL_SECONDS)


def wait_stopped(
    side: Side,
    mapping: EffectiveMapping,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeResult:
    """Wait until no pod of the side's workloads is left (terminating pods included)."""

    def probe() -> dict[str, str]:
        return stopped_state(list_workloads(side, mapping), _pods(side))

    return _wait(
        probe,
        what=f"pods of {side.cluster}/{side.namespace} did not stop",
        timeout=timeout,
        clock=clock,
        sleep=sleep,
    )


def wait_ready(
    side: Side,
    mapping: EffectiveMapping,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeResult:
    """Wait until every workload of the side has all its wanted pods ready (reported per workload)."""

    def probe() -> dict[str, str]:
        return ready_state(list_workloads(side, mapping))

    return _wait(
        probe,
        what=f"workloads of {side.cluster}/{side.namespace} were not ready",
        timeout=timeout,
        clock=clock,
        sleep=sleep,
    )


def running_pods(side: Side, mapping: EffectiveMapping) -> dict[str, str]:
    """Workloads of the side that still have pods (empty when the side is stopped); no waiting."""
    state = stopped_state(list_workloads(side, mapping), _pods(side))
    return {ref: value for ref, value in state.items() if value != "stopped"}
