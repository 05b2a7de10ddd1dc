"""The cutover's pause-syncs step cancels the mapping's running sync runs, the Prefect way.

Pausing a deployment stops no run that has already started: a Continuous mapping's long-running flow would
keep copying the stopped source over DR. ``drsyncer serve`` (a real subprocess, its runner polling every
second) runs a Continuous mapping; the step pauses its deployment and cancels the run, and serve's runner
stops the run's process: the run ends Cancelled, and a change on the source no longer reaches DR.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from drsyncer.sandbox import FakeCluster
from flows.mapping_source import MappingSource, resolve_mapping
from tests.e2e import test_deployments as deployments
from tests.e2e.test_deployments import _read, _runs, poll

serve_process = deployments.serve_process
"""``drsyncer serve`` on a config with a Manual, a paused and a Continuous (``<namespace>-live``) mapping."""


def _configmap(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}


def test_pause_syncs_cancels_a_running_continuous_run_and_serve_stops_it(
    serve_process: tuple[subprocess.Popen[bytes], str, Path, int],
    source_cluster: FakeCluster,
    dr_cluster: FakeCluster,
) -> None:
    from prefect import get_client

    from tasks.dr.schedules import cancel_sync_runs, pause_sync_deployments

    process, namespace, config, _ = serve_process
    live = f"{namespace}-live"
    source_cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": live}})
    source_cluster.create(_configmap("before", live))
    poll(lambda: dr_cluster.get("v1", "ConfigMap", "before", live) is not None, timeout=60)
    deployment = _read(f"continuous-sync/{live}")
    running = [run for run in _runs(deployment.id) if run.state is not None and run.state.is_running()]
    assert len(running) == 1, [run.state for run in _runs(deployment.id)]
    mapping = resolve_mapping(MappingSource(config=(str(config),)), live).mapping

    paused = pause_sync_deployments(mapping)
    cancelled = cancel_sync_runs(mapping)

    assert paused == [deployment.name]
    assert cancelled == [running[0].name]
    with get_client(sync_client=True) as client:

        def ended() -> bool:
            assert process.poll() is None, "drsyncer serve exited"
            state = client.read_flow_run(running[0].id).state
            return state is not None and state.is_final()

        poll(ended, timeout=60, interval=0.5)
        final = client.read_flow_run(running[0].id).state
        assert final is not None
        assert final.type.value == "CANCELLED", final
        assert _read(f"continuous-sync/{live}").paused
    source_cluster.create(_configmap("after", live))
    # Nothing may copy it any more: give a live watcher (debounce 1 s) several times its delay, then look.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert dr_cluster.get("v1", "ConfigMap", "after", live) is None
        time.sleep(0.25)
    assert [run.state.type.value for run in _runs(deployment.id) if run.state is not None].count(
        "RUNNING"
    ) == 0
    assert cancel_sync_runs(mapping) == []  # nothing left to cancel: the step is safe to re-run
