"""The worker-stop scenario: a third process worker ("victim", on its own pool so that it is the one that
picks the run up) starts a Manual mapping of 3,000 objects; once the first of them is in the DR cluster,
the worker gets SIGTERM — what Kubernetes, systemd or an operator sends — and its flow-run process goes
with it, mid-run, without reporting a final state.

Run before the soak (fixture ``victim``): the run is then declared Crashed while the soak's ticks run.
No claim: a run killed inside a PVC transfer would hold one of the DR cluster's rsync slots until its
lease expires (300 s), starving the soak; the object stage is as much "mid-run".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from tests.scale.conftest import ScaleStack
from tests.scale.prefect_stack import PREFECT, start_worker, wait_for_workers
from tests.scale.runs import PrefectApi, wait_until
from tests.scale.world import CLUSTER_MAPPING, seed_objects

DRSYNCER = str(Path(PREFECT).with_name("drsyncer"))
POOL = "scale-victim"
OBJECTS = 3000


@dataclass(frozen=True)
class Victim:
    """The run whose worker was stopped, and when (wall clock, ``time.time()``)."""

    api: PrefectApi
    run_id: str
    stopped_at: float
    objects_in_dr_at_stop: int


def stop_a_worker_mid_run(stack: ScaleStack) -> Victim:
    """Start the victim worker and its run, and stop the worker once the run is writing to the DR cluster."""
    world = stack.world
    seed_objects(world.source, "victim", count=OBJECTS)
    config = world.workdir / "victim.yaml"
    config.write_text(
        world.clusters_yaml()
        + "---\napiVersion: dr-syncer.io/v1alpha1\nkind: NamespaceMapping\nmetadata: {name: victim}\n"
        + f"spec:\n  clusterMappingRef: {{name: {CLUSTER_MAPPING}}}\n  sourceNamespace: victim\n"
        + "  replicationMode: Manual\n",
        encoding="utf-8",
    )
    stack.run_cli(PREFECT, "work-pool", "create", POOL, "--type", "process")
    worker = start_worker(stack.server, pool=POOL, name="victim", env=stack.worker_env(), logs=stack.logs)
    stack.other_workers.append(worker)  # its log is checked for database errors too; stopped at teardown
    wait_for_workers(stack.server, POOL, {"victim"})
    registered = json.loads(
        stack.run_cli(DRSYNCER, "deploy", str(config), "--pool", POOL, "--output", "json").stdout
    )
    deployment = next(item["id"] for item in registered if item["deployment"] == "namespace-sync/victim")
    api = PrefectApi(stack.server.api_url)

    run_id = api.trigger(deployment)
    wait_until(
        lambda: bool(world.dr.objects("v1", "ConfigMap", "victim")),
        timeout=180,
        what="the victim run writing its first object into the DR cluster",
        interval=0.1,
    )
    assert api.run(run_id).state == "RUNNING"
    stopped_at = time.time()
    worker.stop(children=False)  # only the worker: what happens to its flow run is what we observe
    copied = len(world.dr.objects("v1", "ConfigMap", "victim"))
    return Victim(api=api, run_id=run_id, stopped_at=stopped_at, objects_in_dr_at_stop=copied)
