"""After a cutover DR is live: no sync from the stopped source may touch it (tasks/plan/live_dr.py).

The real flows on two background sandbox clusters: stage, cutover, then the mistakes a team makes on a
disaster day — ``drsyncer sync`` by hand, a continuous run that was never cancelled — each refused with
one message naming the way back, and DR's workloads and objects untouched. After a failback syncs work
again.
"""

from __future__ import annotations

import subprocess
from typing import Any

from drsyncer.objects import KubeObject
from tests.api.sync.conftest import MAPPING, SyncWorld
from tests.e2e import test_dr_operations as operations
from tests.e2e.test_dr_operations import DRSYNCER, TIMEOUTS, _replicas, _run, _stage

world = operations.world
"""The DR-operations world: web (3), db (2), a DaemonSet and a CronJob, kubelets in the background."""


def _configmap(namespace: str, value: str) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": {"mode": value},
    }


def _cut_over(world: SyncWorld) -> None:
    from flows.dr_operations import cutover

    _stage(world)
    assert _run(cutover, world, yes=True, **TIMEOUTS)[1]["phase"] == "Completed"


def _dr_writes(world: SyncWorld) -> list[str]:
    return [f"{entry.method} {entry.path}" for entry in world.dr.audit.mutations()]


def test_sync_by_hand_after_a_cutover_is_refused_and_dr_keeps_running(
    world: SyncWorld,
    prefect_api_env: dict[str, str],
) -> None:
    _cut_over(world)
    world.source.create(_configmap(world.namespace, "stale"))
    world.dr.audit.clear()
    env = {key: value for key, value in prefect_api_env.items() if key != "KUBECONFIG"}

    result = subprocess.run(
        [DRSYNCER, "sync", str(world.config_path), "--mapping", MAPPING],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "DR is live" in output, output[-2000:]
    assert "Deployment/web (3 replicas)" in output, output[-2000:]
    assert "drsyncer failback" in output, output[-2000:]
    assert _dr_writes(world) == []
    dr = world.destination_namespace
    assert _replicas(world.dr, dr, "Deployment", "web") == 3
    assert _replicas(world.dr, dr, "StatefulSet", "db") == 2
    assert world.dr.get("v1", "ConfigMap", "settings", dr) is None


def test_a_continuous_run_left_running_stops_when_it_finds_dr_live(world: SyncWorld) -> None:
    from flows.continuous import continuous_sync

    _cut_over(world)
    world.source.create(_configmap(world.namespace, "stale"))
    world.dr.audit.clear()

    state: Any = continuous_sync(
        mapping=MAPPING,
        config=[str(world.config_path)],
        debounce_seconds=0.2,
        max_duration_seconds=60,
        return_state=True,
    )

    assert state.is_failed(), state
    assert "DR is live" in str(state.message), state.message
    assert _dr_writes(world) == []
    assert _replicas(world.dr, world.destination_namespace, "Deployment", "web") == 3


def test_after_a_failback_the_source_syncs_again(world: SyncWorld) -> None:
    from flows.dr_operations import failback
    from flows.namespace_sync import namespace_sync

    _cut_over(world)
    assert _run(failback, world, yes=True, **TIMEOUTS)[1]["phase"] == "Completed"
    world.source.create(_configmap(world.namespace, "after-failback"))

    state = namespace_sync(mapping=MAPPING, config=[str(world.config_path)], return_state=True)

    assert state.is_completed(), state.message
    found = world.dr.get("v1", "ConfigMap", "settings", world.destination_namespace)
    assert found is not None
    assert found["data"] == {"mode": "after-failback"}
    assert _replicas(world.dr, world.destination_namespace, "Deployment", "web") == 0
