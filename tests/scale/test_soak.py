"""20 mappings on two workers of one pool, a bounded soak of three one-minute schedule ticks, and a big
namespace (5,000 objects, claims over 4 source nodes) through the same stack.

The soak runs once for the module (fixture ``soak``, after the worker-stop scenario has started): 17
Scheduled mappings (``* * * * *``, 6 with a claim), one Continuous, one Manual triggered twice, one
paused, plus the big namespace's Manual mapping, triggered at the start of the soak (first sync, under
the soak's load) and again as soon as that finished (the no-op re-sync, still during the soak). Each
test then checks one property of what happened, read from the Prefect API, the agents' pull logs, the DR
cluster's audit log and the components' log files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drsyncer.metrics.run_record import RECORD_DESCRIPTION, RunRecord, parse_artifact_data
from drsyncer.sandbox.pull_log import Pull
from tests.scale.conftest import FIGURES, POOL, PVC_CONCURRENCY, ScaleStack
from tests.scale.prefect_stack import DATABASE_ERRORS, PREFECT, RssSampler
from tests.scale.runs import TERMINAL, PrefectApi, Run, max_concurrent, overlaps, wait_until
from tests.scale.victim import Victim
from tests.scale.world import CLUSTER_MAPPING, seed_claims, seed_objects

DRSYNCER = str(Path(PREFECT).with_name("drsyncer"))
pytestmark = pytest.mark.timeout(1800)
"""The soak (three one-minute ticks and their backlog, the big namespace twice) outlasts the 600 s default."""

SCHEDULED = [f"soak-{n:02d}" for n in range(1, 18)]
WITH_DATA = SCHEDULED[:6]
"""Scheduled mappings that also copy a claim (enough to contend for the DR cluster's rsync slots)."""
TICKS = 3
BIG_OBJECTS = 5000
BIG_CLAIMS = int(os.environ.get("DRSYNCER_SCALE_BIG_CLAIMS", "20"))
"""Claims of the big namespace: 20 in CI (its time budget), 200 measured by hand (docs/operations.md)."""
WORKER_RSS_BOUND = 1024 * 1024 * 1024
"""A flow-run process of the big namespace must stay under 1 GiB resident."""


def _mapping(name: str, namespace: str, *, mode: str, extra: str = "") -> str:
    return (
        "apiVersion: dr-syncer.io/v1alpha1\nkind: NamespaceMapping\n"
        f"metadata: {{name: {name}}}\nspec:\n  clusterMappingRef: {{name: {CLUSTER_MAPPING}}}\n"
        f"  sourceNamespace: {namespace}\n  replicationMode: {mode}\n{extra}"
    )


def _config(stack: ScaleStack) -> Path:
    with_data = "  pvcConfig: {syncData: true}\n"
    documents = [stack.world.clusters_yaml()]
    for name in SCHEDULED:
        data = with_data if name in WITH_DATA else ""
        documents.append(_mapping(name, name, mode="Scheduled", extra=f'  schedule: "* * * * *"\n{data}'))
    documents.append(
        _mapping("soak-live", "soak-live", mode="Continuous", extra="  resourceTypes: [configmaps]\n")
    )
    documents.append(_mapping("soak-manual", "soak-manual", mode="Manual"))
    paused = '  schedule: "* * * * *"\n  paused: true\n  destinationNamespace: soak-paused-never\n'
    documents.append(_mapping("soak-paused", "soak-paused", mode="Scheduled", extra=paused))
    documents.append(_mapping("big", "big", mode="Manual", extra=with_data))
    path = stack.world.workdir / "scale.yaml"
    path.write_text("---\n".join(documents), encoding="utf-8")
    return path


@dataclass
class SoakResult:
    """What the soak did, as read back after it."""

    api: PrefectApi
    deployments: dict[str, str]
    ticks: list[datetime]
    runs: dict[str, list[Run]]
    big_runs: list[str]
    big_noop_mutations: int
    pulls: list[Pull]
    peaks: dict[int, int]
    database_bytes: tuple[int, int]
    soak_seconds: float
    worker_logs: dict[str, str] = field(default_factory=dict)

    def record(self, run_id: str) -> RunRecord:
        for artifact in self.api.artifacts(run_id):
            if artifact.get("description") == RECORD_DESCRIPTION:
                record = parse_artifact_data(artifact.get("data"))
                if record is not None:
                    return record
        raise AssertionError(f"run {run_id} published no run record")


def _ended_pulls(stack: ScaleStack, *, timeout: float) -> list[Pull]:
    """The agents' pulls once every one has ended (its end is logged by a reader that notices rsync's exit
    a moment after the flow run saw it), or as they are at the deadline (the test then names the open one)."""
    deadline = time.monotonic() + timeout
    while True:
        pulls = stack.world.agents.pulls()
        if all(pull.ended is not None for pull in pulls) or time.monotonic() > deadline:
            return pulls
        time.sleep(0.2)


def _seed_big(stack: ScaleStack) -> None:
    seeded = time.monotonic()
    seed_objects(stack.world.source, "big", count=BIG_OBJECTS - BIG_CLAIMS)
    seed_claims(stack.world.source, "big", count=BIG_CLAIMS)
    FIGURES["big namespace seeding seconds"] = round(time.monotonic() - seeded, 1)


@pytest.fixture(scope="module")
def big_seeding(scale_stack: ScaleStack) -> Iterator[Future[None]]:
    """Seeds the big namespace in the background (while the worker-stop scenario sets up)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-big") as executor:
        yield executor.submit(_seed_big, scale_stack)


@pytest.fixture(scope="module")
def soak(scale_stack: ScaleStack, big_seeding: Future[None], victim: Victim) -> SoakResult:
    """The soak; ``victim`` (the worker-stop scenario) goes first so that its wait overlaps the ticks."""
    stack = scale_stack
    world = stack.world
    for namespace in SCHEDULED:
        seed_objects(world.source, namespace, count=6)
    for namespace in WITH_DATA:
        seed_claims(world.source, namespace, count=1)
    for namespace in ("soak-live", "soak-manual", "soak-paused"):
        seed_objects(world.source, namespace, count=6)
    big_seeding.result(timeout=600)

    config = _config(stack)
    deployed = datetime.now(UTC)
    result = stack.run_cli(DRSYNCER, "deploy", str(config), "--pool", POOL, "--output", "json", timeout=600)
    registered = {item["deployment"]: item["id"] for item in json.loads(result.stdout)}
    assert len(registered) == 22, sorted(registered)  # 21 mappings + the ClusterMapping's cluster-sync
    api = PrefectApi(stack.server.api_url)
    sampler = RssSampler([worker.process.pid for worker in stack.workers]).start()
    database_before = stack.postgres.database_bytes()
    started = time.monotonic()

    big = registered["namespace-sync/big"]
    big_runs = [api.trigger(big)]
    manual = registered["namespace-sync/soak-manual"]
    api.trigger(manual)
    api.trigger(manual)
    live = registered["continuous-sync/soak-live"]
    if not [run for run in api.runs([live]) if run.state not in ("SCHEDULED", *("COMPLETED", "CANCELLED"))]:
        api.trigger(live)

    first_tick = (deployed + timedelta(seconds=20)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    ticks = [first_tick + timedelta(minutes=n) for n in range(TICKS)]
    scheduled_ids = [registered[f"namespace-sync/{name}"] for name in SCHEDULED]

    def big_first_sync_done() -> bool:
        """Once the first sync of the big namespace has finished, start its no-op re-sync (once)."""
        if len(big_runs) == 1 and api.run(big_runs[0]).state in TERMINAL:
            world.dr.audit.clear()
            big_runs.append(api.trigger(big))
        return len(big_runs) == 2

    # Once the last tick is past and every mapping has its run for it, pause the schedules so that later
    # ticks do not compete with the window's backlog. Pausing by an update deletes only runs due in the
    # future (Prefect: auto-scheduled, next start after now), so the last tick's runs stay even if no
    # worker has picked them up yet.
    def last_tick_due() -> bool:
        big_first_sync_done()
        if datetime.now(UTC) < ticks[-1] + timedelta(seconds=5):
            return False
        due = api.runs(scheduled_ids, expected_before=ticks[-1])
        return len([run for run in due if run.expected_start == ticks[-1]]) == len(scheduled_ids)

    wait_until(
        last_tick_due,
        timeout=(ticks[-1] - datetime.now(UTC)).total_seconds() + 120,
        what="every mapping's run of the last tick being created",
    )
    for deployment_id in scheduled_ids:
        api.set_paused(deployment_id, paused=True)

    def drop_runs_scheduled_after_pausing() -> None:
        """Re-pause what still has runs due after the last tick: the server's scheduler loop that was in
        flight while we paused inserts the next minutes' runs just after the pause (measured: 2 s later);
        each update deletes a deployment's future auto-scheduled runs again."""
        later = [
            run
            for run in api.runs(scheduled_ids)
            if run.state_name == "Scheduled" and run.expected_start and run.expected_start > ticks[-1]
        ]
        for deployment_id in {run.deployment_id for run in later if run.deployment_id}:
            api.set_paused(deployment_id, paused=True)

    def window_runs_finished() -> bool:
        drop_runs_scheduled_after_pausing()
        if not big_first_sync_done():
            return False
        runs = api.runs([*scheduled_ids, manual, big], expected_before=ticks[-1])
        return all(
            run.state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
            for run in runs
            if run.expected_start is not None and run.expected_start <= ticks[-1]
        )

    wait_until(
        window_runs_finished,
        timeout=600,
        what="the soak's runs finishing",
        interval=2,
    )
    soak_seconds = time.monotonic() - started
    wait_until(
        lambda: api.run(big_runs[-1]).state in TERMINAL,
        timeout=600,
        what="the big namespace's no-op re-sync",
        interval=1,
    )
    # Placeholder pods that mount DR claims for rsync are the data path's, not synced objects.
    big_noop_mutations = len(
        [e for e in world.dr.audit.mutations(path_regex="/namespaces/big/") if "/pods" not in e.path]
    )
    sampler.stop()
    database_after = stack.postgres.database_bytes()
    for run in api.runs([live]):
        if run.state == "RUNNING":
            api.cancel(run.id)

    FIGURES["worker processes peak RSS (MiB)"] = {
        worker.name: round(sampler.peaks.get(worker.process.pid, 0) / 2**20) for worker in stack.workers
    }
    runs = {name: api.runs([deployment_id]) for name, deployment_id in registered.items()}
    pulls = _ended_pulls(stack, timeout=60)
    return SoakResult(
        api=api,
        deployments=registered,
        ticks=ticks,
        runs=runs,
        big_runs=big_runs,
        big_noop_mutations=big_noop_mutations,
        pulls=pulls,
        peaks=dict(sampler.peaks),
        database_bytes=(database_before, database_after),
        soak_seconds=soak_seconds,
        worker_logs={worker.name: worker.log.read_text(errors="replace") for worker in stack.workers},
    )


def test_every_tick_runs_each_scheduled_mapping_exactly_once_and_it_completes(soak: SoakResult) -> None:
    problems = []
    finished = 0
    for name in SCHEDULED:
        runs = soak.runs[f"namespace-sync/{name}"]
        for tick in soak.ticks:
            at_tick = [run for run in runs if run.expected_start == tick]
            states = [run.state_name for run in at_tick]
            if states != ["Completed"]:
                problems.append(f"{name} @ {tick:%H:%M}: {states or 'no run'}")
            finished += len(at_tick)
    assert not problems, problems
    all_runs = [run for runs in soak.runs.values() for run in runs if run.state == "COMPLETED"]
    FIGURES["soak"] = (
        f"{len(soak.ticks)} ticks x {len(SCHEDULED)} scheduled mappings in {soak.soak_seconds:.0f} s"
    )
    FIGURES["runs per minute (completed, all mappings)"] = round(len(all_runs) / (soak.soak_seconds / 60), 1)
    durations = sorted(
        run.seconds or 0
        for name in SCHEDULED
        for run in soak.runs[f"namespace-sync/{name}"]
        if run.state == "COMPLETED"
    )
    FIGURES["scheduled run seconds (median, max)"] = (durations[len(durations) // 2], durations[-1])
    database_before, database_after = soak.database_bytes
    FIGURES["database growth per run (KiB)"] = round(
        (database_after - database_before) / len(all_runs) / 1024, 1
    )


def test_runs_of_one_mapping_never_overlap_even_across_workers(soak: SoakResult) -> None:
    for name, runs in soak.runs.items():
        if name.startswith("namespace-sync/"):
            assert overlaps([run for run in runs if run.start]) == [], name
    ran_by = {
        worker: sum(run.id in log for runs in soak.runs.values() for run in runs if run.start)
        for worker, log in soak.worker_logs.items()
    }
    assert all(count > 0 for count in ran_by.values()), f"runs per worker: {ran_by}"
    FIGURES["runs per worker"] = ran_by


def test_a_manual_mapping_triggered_twice_runs_twice(soak: SoakResult) -> None:
    runs = soak.runs["namespace-sync/soak-manual"]
    assert [run.state_name for run in runs] == ["Completed", "Completed"]


def test_the_continuous_mapping_has_exactly_one_long_running_flow_run(soak: SoakResult) -> None:
    runs = soak.runs["continuous-sync/soak-live"]
    # Keep-alive runs find the one that is running and are cancelled (CANCEL_NEW) before they start.
    lasting = [run for run in runs if soak.api.reached_running(run.id)]
    assert len(lasting) == 1, [(run.state_name, soak.api.state_history(run.id)) for run in runs]
    assert lasting[0].state_name in ("Cancelling", "Cancelled"), lasting[0].state_name


def test_a_paused_mapping_never_runs(soak: SoakResult, scale_stack: ScaleStack) -> None:
    assert soak.runs["namespace-sync/soak-paused"] == []
    assert scale_stack.world.dr.get("v1", "Namespace", "soak-paused-never") is None


def test_rsync_slots_per_dr_cluster_are_never_exceeded(soak: SoakResult) -> None:
    assert soak.pulls, "no PVC transfer ran"
    still_open = [f"{pull.kind} {pull.arguments}" for pull in soak.pulls if pull.ended is None]
    assert still_open == [], "rsync still running 60 s after every run ended"
    peak = max_concurrent([(pull.started, pull.ended or pull.started) for pull in soak.pulls])
    assert peak <= PVC_CONCURRENCY
    FIGURES["rsync transfers, peak concurrent into DR"] = (
        f"{len(soak.pulls)}, {peak} (limit {PVC_CONCURRENCY})"
    )


def test_no_database_error_in_any_log(scale_stack: ScaleStack, soak: SoakResult) -> None:
    found = []
    for log in scale_stack.logs_to_check():
        text = log.read_text(errors="replace")
        found += [
            f"{log.name}: {line.strip()[:200]}"
            for line in text.splitlines()
            if any(error in line for error in DATABASE_ERRORS)
        ]
        assert scale_stack.postgres.password not in text, f"{log.name} shows the database password"
    assert found == []


def test_the_big_namespace_syncs_on_the_stack_with_bounded_memory_and_no_per_object_tasks(
    soak: SoakResult,
) -> None:
    first = soak.api.run(soak.big_runs[0])
    assert first.state_name == "Completed"
    record = soak.record(first.id)
    assert sum(record.outcomes.values()) >= BIG_OBJECTS - BIG_CLAIMS
    assert record.outcomes.get("failed", 0) == 0
    assert len([pvc for pvc in record.pvcs if pvc.succeeded]) == BIG_CLAIMS
    tasks = soak.api.task_run_count(first.id)
    assert tasks < BIG_OBJECTS // 10, f"{tasks} task runs for {BIG_OBJECTS} objects"
    pid = int((first.infrastructure_pid or "0").rsplit(":", 1)[-1])
    peak = soak.peaks.get(pid) or max(soak.peaks.values())
    assert peak < WORKER_RSS_BOUND
    FIGURES[f"big namespace ({BIG_OBJECTS} objects, {BIG_CLAIMS} PVCs over 4 nodes)"] = (
        f"first sync {first.seconds:.0f} s under the soak's load, {tasks} task runs, "
        f"flow-run process peak RSS {peak / 2**20:.0f} MiB"
    )
    FIGURES["flow-run processes, peak RSS of the largest (MiB)"] = round(max(soak.peaks.values()) / 2**20)


def test_a_no_op_re_sync_of_the_big_namespace_writes_nothing_and_moves_no_data(soak: SoakResult) -> None:
    second = soak.api.run(soak.big_runs[1])
    assert second.state_name == "Completed"
    record = soak.record(second.id)
    assert soak.big_noop_mutations == 0
    assert len(record.pvcs) == BIG_CLAIMS
    assert [pvc.name for pvc in record.pvcs if pvc.files or not pvc.succeeded] == []
    FIGURES["big namespace no-op re-sync"] = (
        f"{second.seconds or 0:.0f} s, 0 object writes, 0 files, "
        f"{sum(pvc.bytes for pvc in record.pvcs)} bytes of rsync protocol for {BIG_CLAIMS} claims"
    )
