"""Stopping a worker in the middle of a run: the run ends visibly (Crashed), it is never silently lost.

A third process worker ("victim", on its own pool so that it is the one that picks the run up) starts a
Manual mapping whose claim holds a few MB behind a bandwidth limit (a transfer of ~15 s). Once the DR
agent's rsync has started, the worker gets SIGTERM — what Kubernetes, systemd or an operator sends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.scale.conftest import FIGURES, ScaleStack
from tests.scale.prefect_stack import PREFECT, start_worker, wait_for_workers
from tests.scale.runs import PrefectApi, wait_until
from tests.scale.world import CLUSTER_MAPPING, seed_claims, seed_objects

DRSYNCER = str(Path(PREFECT).with_name("drsyncer"))
POOL = "scale-victim"


def test_stopping_a_worker_mid_run_leaves_the_run_crashed_not_lost(scale_stack: ScaleStack) -> None:
    stack = scale_stack
    world = stack.world
    seed_objects(world.source, "victim", count=3)
    (directory,) = seed_claims(world.source, "victim", count=1, files=0)
    (directory / "blob").write_bytes(bytes(range(256)) * 4096 * 5)  # 5 MiB
    config = world.workdir / "victim.yaml"
    config.write_text(
        world.clusters_yaml()
        + "---\napiVersion: dr-syncer.io/v1alpha1\nkind: NamespaceMapping\nmetadata: {name: victim}\n"
        + f"spec:\n  clusterMappingRef: {{name: {CLUSTER_MAPPING}}}\n  sourceNamespace: victim\n"
        + "  replicationMode: Manual\n  pvcConfig: {syncData: true, dataSyncConfig: {bandwidthLimit: 350}}\n",
        encoding="utf-8",
    )
    stack.run_cli(PREFECT, "work-pool", "create", POOL, "--type", "process")
    victim = start_worker(stack.server, pool=POOL, name="victim", env=stack.worker_env(), logs=stack.logs)
    stack.workers.append(victim)  # its log is checked for database errors too; stopped at teardown
    wait_for_workers(stack.server, POOL, {"victim"})
    registered = json.loads(
        stack.run_cli(DRSYNCER, "deploy", str(config), "--pool", POOL, "--output", "json").stdout
    )
    deployment = next(item["id"] for item in registered if item["deployment"] == "namespace-sync/victim")
    api = PrefectApi(stack.server.api_url)
    transfers_before = len(world.agents.pulls())

    run_id = api.trigger(deployment)
    wait_until(
        lambda: (
            len([p for p in world.agents.pulls() if p.kind == "transfer"]) > 0
            and any(p.ended is None for p in world.agents.pulls()[transfers_before:])
        ),
        timeout=180,
        what="the victim run's rsync starting",
        interval=0.2,
    )
    assert api.run(run_id).state == "RUNNING"
    stopped = time.monotonic()
    victim.stop(children=False)  # only the worker: what happens to its flow run is what we observe

    wait_until(
        lambda: api.run(run_id).state not in ("RUNNING", "PENDING"),
        timeout=240,
        what="the run leaving Running after its worker stopped",
    )
    run = api.run(run_id)
    FIGURES["worker stopped mid-run (SIGTERM)"] = (
        f"run -> {run.state_name} after {time.monotonic() - stopped:.1f} s"
    )
    assert run.state in ("CRASHED", "COMPLETED", "SCHEDULED", "FAILED"), run.state_name
    if run.state == "COMPLETED":  # finished by its own process: then the data must really be there
        claim = world.dr.get("v1", "PersistentVolumeClaim", "data-0000", "victim") or {}
        copied = world.dr.kubelet.volume_dir(str(claim["spec"]["volumeName"])) / "blob"
        assert copied.read_bytes() == (directory / "blob").read_bytes()
