"""Stopping a worker in the middle of a run: the run ends visibly (Crashed), it is never silently lost.

The scenario (``tests/scale/victim.py``, fixture ``victim``) stops a process worker with SIGTERM while
its run writes objects into the DR cluster; the flow-run process goes with it without reporting a final
state, so on its own the run would stay Running forever (measured: Prefect 3.9's process worker). ``drsyncer
deploy`` set the runs' heartbeat (every 30 s) and created the zombie-run automation
(``deployments/server_objects.py``): with no heartbeat for 90 s the server marks the run Crashed.

Crashed is the right end: visible in the UI and to ``drsyncer status``, the DR copy is as the previous
run left it plus what this run had written (each object write is whole), and the mapping's next run — a
full, idempotent sync — repairs it. Not retried at once: a sync is cheap to repeat at the next schedule,
and an immediate retry on a node that just lost its worker could fail the same way.
"""

from __future__ import annotations

from datetime import datetime

from tests.scale.conftest import FIGURES
from tests.scale.runs import wait_until
from tests.scale.victim import OBJECTS, Victim


def test_stopping_a_worker_mid_run_leaves_the_run_crashed_not_lost(victim: Victim) -> None:
    api = victim.api
    assert 0 < victim.objects_in_dr_at_stop < OBJECTS, "the worker was not stopped mid-run"
    wait_until(
        lambda: api.run(victim.run_id).state not in ("RUNNING", "PENDING"),
        timeout=300,
        what="the run leaving Running after its worker stopped (zombie-run automation, 90 s)",
    )
    run = api.run(victim.run_id)
    assert run.state == "CRASHED", (run.state_name, api.state_history(victim.run_id))
    crashed_at = max(
        datetime.fromisoformat(str(state["timestamp"])).timestamp()
        for state in api.states(victim.run_id)
        if state["type"] == "CRASHED"
    )
    FIGURES["worker stopped mid-run (SIGTERM)"] = (
        f"run -> Crashed {crashed_at - victim.stopped_at:.0f} s later (zombie-run automation)"
    )
