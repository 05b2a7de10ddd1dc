"""Restore points through the real namespace-sync flow: real agents, the sandbox's CSI snapshot controller.

Before a data sync changes a DR claim, dr-syncer snapshots it (``snapshot.storage.k8s.io/v1``), labelled
with mapping, claim and time, waits for readyToUse, and prunes by count and age. No snapshot when nothing
in DR would change. A missing class or a snapshot that never gets ready fails that PVC and keeps the DR
copy as it was.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drsyncer import labels
from drsyncer.objects import KubeObject
from drsyncer.sandbox import FakeCluster
from tests.api.sync.conftest import MAPPING
from tests.e2e.test_dr_operations import TIMEOUTS, DataClusters, _data_config, _volume, data_clusters
from tests.e2e.test_pvc_data_flow import DataWorld, clusters, poll, tree, world, write

__all__ = ["clusters", "data_clusters", "world"]  # module-scoped clusters and the per-test world, shared

SNAPSHOT_API = "snapshot.storage.k8s.io/v1"
DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
DATA_SYNC_LINE = "    dataSyncConfig: {verificationMode: full}\n"


@contextlib.contextmanager
def snapshot_controller(cluster: FakeCluster) -> Iterator[None]:
    """``cluster`` with the sandbox's CSI snapshot controller installed and a class ``csi-snap``."""
    cluster.snapshots.install()
    cluster.create(
        {
            "apiVersion": SNAPSHOT_API,
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": "csi-snap"},
            "driver": "rancher.io/local-path",
            "deletionPolicy": "Delete",
        }
    )
    try:
        yield
    finally:
        cluster.snapshots.reset()
        for point in cluster.objects(SNAPSHOT_API, "VolumeSnapshotClass"):
            cluster.api.delete_internal(
                cluster.registry.by_kind(SNAPSHOT_API, "VolumeSnapshotClass"),  # type: ignore[arg-type]
                point,
            )


@pytest.fixture
def snapshotting(world: DataWorld) -> Iterator[DataWorld]:
    """The world with the DR cluster's snapshot controller installed and a class ``csi-snap``."""
    with snapshot_controller(world.dr):
        yield world


def restore_points(world: DataWorld, yaml_fields: str) -> None:
    """Add ``pvcConfig.restorePoints: {yaml_fields}`` to the world's mapping."""
    text = world.config.read_text(encoding="utf-8")
    assert DATA_SYNC_LINE in text
    world.config.write_text(
        text.replace(DATA_SYNC_LINE, DATA_SYNC_LINE + f"    restorePoints: {{{yaml_fields}}}\n"),
        encoding="utf-8",
    )


def points(world: DataWorld, claim: str) -> list[KubeObject]:
    found = world.dr.objects(SNAPSHOT_API, "VolumeSnapshot", world.namespace)
    return sorted(
        (p for p in found if p["metadata"]["labels"].get(labels.RESTORE_POINT_CLAIM) == claim),
        key=lambda p: p["metadata"]["labels"][labels.RESTORE_POINT_TIME],
    )


def snapshot_tree(cluster: FakeCluster, point: KubeObject) -> dict[str, bytes]:
    """The files a restore point of ``cluster`` holds (the sandbox snapshot controller's copy)."""
    content = cluster.get(
        SNAPSHOT_API, "VolumeSnapshotContent", point["status"]["boundVolumeSnapshotContentName"]
    )
    assert content is not None
    return tree(Path(content["metadata"]["annotations"]["sandbox.dr-syncer.io/path"]))


def test_a_restore_point_holds_the_dr_copy_from_before_the_change_and_none_is_taken_without_one(
    snapshotting: DataWorld,
) -> None:
    world = snapshotting
    restore_points(world, "volumeSnapshotClassName: csi-snap")
    source = world.claim("orders")
    write(source, {"a.txt": b"version 1\n", "b.txt": b"stays\n"})
    assert world.sync()[0].is_completed()
    assert points(world, "orders") == []  # the first copy changes nothing that was in DR

    write(source, {"a.txt": b"version 2\n"})
    state, report = world.sync()

    assert state.is_completed(), report
    [point] = points(world, "orders")
    assert report["pvcs"][0]["restorePoint"] == point["metadata"]["name"]
    assert point["metadata"]["labels"][labels.RESTORE_POINT_MAPPING] == "data"
    assert point["spec"]["source"] == {"persistentVolumeClaimName": "orders"}
    assert snapshot_tree(world.dr, point) == {"a.txt": b"version 1\n", "b.txt": b"stays\n"}
    assert tree(world.volume(world.dr, "orders")) == tree(source)
    state, report = world.sync()  # nothing changed: no new restore point
    assert state.is_completed()
    assert len(points(world, "orders")) == 1
    assert "restorePoint" not in report["pvcs"][0]


def test_restore_points_are_pruned_by_count_and_by_age(snapshotting: DataWorld) -> None:
    world = snapshotting
    restore_points(world, "volumeSnapshotClassName: csi-snap, keep: 2, keepWithin: 24h")
    source = world.claim("ledger")
    write(source, {"n.txt": b"0"})
    world.sync()
    ancient: KubeObject = {
        "apiVersion": SNAPSHOT_API,
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": "ledger-20200101t000000z-0000",
            "namespace": world.namespace,
            "labels": {
                labels.RESTORE_POINT_MAPPING: "data",
                labels.RESTORE_POINT_CLAIM: "ledger",
                labels.RESTORE_POINT_TIME: "20200101T000000Z",
            },
        },
        "spec": {"volumeSnapshotClassName": "csi-snap", "source": {"persistentVolumeClaimName": "ledger"}},
    }
    world.dr.create(ancient)

    write(source, {"n.txt": b"1"})
    assert world.sync()[0].is_completed()
    names = [p["metadata"]["name"] for p in points(world, "ledger")]
    assert "ledger-20200101t000000z-0000" not in names  # older than keepWithin
    assert len(names) == 1

    for version in (b"2", b"3"):
        write(source, {"n.txt": version})
        assert world.sync()[0].is_completed()

    kept = points(world, "ledger")
    assert len(kept) == 2  # keep: 2, the newest
    assert [snapshot_tree(world.dr, p)["n.txt"] for p in kept] == [b"1", b"2"]


def test_a_missing_snapshot_class_fails_the_pvc_and_keeps_the_dr_copy(snapshotting: DataWorld) -> None:
    world = snapshotting
    restore_points(world, "volumeSnapshotClassName: no-such-class")
    source = world.claim("books")
    write(source, {"x": b"old"})
    world.sync()

    write(source, {"x": b"new"})
    state, report = world.sync()

    assert not state.is_completed()
    pvc = report["pvcs"][0]
    assert pvc["status"] == "failed"
    assert "VolumeSnapshotClass 'no-such-class' does not exist" in pvc["error"]
    assert tree(world.volume(world.dr, "books")) == {"x": b"old"}


def test_a_snapshot_never_ready_fails_the_pvc_within_the_deadline_and_keeps_the_dr_copy(
    snapshotting: DataWorld,
) -> None:
    world = snapshotting
    world.dr.snapshots.ready_delay = math.inf
    restore_points(world, "volumeSnapshotClassName: csi-snap, readyTimeout: 2s")
    source = world.claim("stuck")
    write(source, {"x": b"old"})
    world.sync()

    write(source, {"x": b"new"})
    state, report = world.sync()

    assert not state.is_completed()
    pvc = report["pvcs"][0]
    assert pvc["status"] == "failed"
    assert "was not readyToUse within 2 s" in pvc["error"]
    assert tree(world.volume(world.dr, "stuck")) == {"x": b"old"}
    assert points(world, "stuck") == []  # the unready snapshot was deleted


def drsyncer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DRSYNCER, *args], capture_output=True, text=True, timeout=120, check=False)


def test_restore_puts_a_restore_point_back_while_dr_is_parked_and_refuses_while_active(
    snapshotting: DataWorld,
) -> None:
    world = snapshotting
    restore_points(world, "volumeSnapshotClassName: csi-snap")
    source = world.claim("shop")
    write(source, {"db": b"good rows\n"})
    world.sync()
    write(source, {"db": b"rows after a bad release\n"})
    world.sync()
    listing = drsyncer("restore-points", "list", str(world.config), "--mapping", "data", "-o", "json")
    assert listing.returncode == 0, listing.stderr
    [point] = json.loads(listing.stdout)
    assert (point["claim"], point["ready"]) == ("shop", True)
    restore = ["restore-points", "restore", str(world.config), "--mapping", "data", "--claim", "shop"]
    world.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "dr-app", "namespace": world.namespace},
            "spec": {
                "containers": [{"name": "app", "image": "busybox"}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "shop"}}],
            },
        }
    )

    refused = drsyncer(*restore, "--point", point["name"])

    assert refused.returncode == 1
    assert "DR is active" in refused.stderr
    assert "Pod/dr-app" in refused.stderr
    assert tree(world.volume(world.dr, "shop")) == {"db": b"rows after a bad release\n"}
    world.dr.api.delete_internal(
        world.dr.registry.by_kind("v1", "Pod"),  # type: ignore[arg-type]
        world.dr.get("v1", "Pod", "dr-app", world.namespace) or {},
    )
    poll(lambda: world.dr.get("v1", "Pod", "dr-app", world.namespace) is None)

    restored = drsyncer(*restore, "--point", point["name"], "-o", "json")

    assert restored.returncode == 0, restored.stderr
    safety = json.loads(restored.stdout)["safetyPoint"]
    poll(lambda: tree(world.volume(world.dr, "shop")) == {"db": b"good rows\n"})
    by_name = {p["metadata"]["name"]: p for p in points(world, "shop")}
    assert snapshot_tree(world.dr, by_name[safety]) == {"db": b"rows after a bad release\n"}  # undoable


def test_cutover_onto_restore_points_skips_the_final_copy_of_a_corrupted_source(
    snapshotting: DataWorld,
) -> None:
    from flows.dr_operations import cutover

    world = snapshotting
    restore_points(world, "volumeSnapshotClassName: csi-snap")
    source = world.claim("vault")
    write(source, {"db": b"good\n"})
    world.sync()
    write(source, {"db": b"also good, later\n"})
    world.sync()  # takes a restore point of "good"; DR now holds "also good, later"
    write(source, {"db": b"ENCRYPTED"})  # the disaster: never copied

    with world.source_writes.product_runs():
        state = cutover(
            mapping="data", config=[str(world.config)], yes=True, restore_point="latest", return_state=True
        )

    report = state.result(raise_on_failure=False)
    assert isinstance(report, dict), report
    assert state.is_completed(), report
    steps = {step["step"]: step for step in report["steps"]}
    assert "final-data" not in steps
    assert steps["restore-points"]["detail"].startswith("WARNING: final data copy SKIPPED")
    poll(lambda: tree(world.volume(world.dr, "vault")) == {"db": b"good\n"})


def test_stage_takes_its_own_restore_point_of_the_dr_copy_it_overwrites(snapshotting: DataWorld) -> None:
    from flows.dr_operations import stage

    world = snapshotting
    restore_points(world, "volumeSnapshotClassName: csi-snap")
    source = world.claim("ledger")
    write(source, {"rows": b"before the stage\n"})
    assert world.sync()[0].is_completed()
    write(source, {"rows": b"rows the stage copies\n"})

    with world.source_writes.product_runs():
        state = stage(mapping="data", config=[str(world.config)], return_state=True)

    report = state.result(raise_on_failure=False)
    assert state.is_completed(), report
    [point] = points(world, "ledger")
    assert point["metadata"]["labels"][labels.RESTORE_POINT_OPERATION] == "stage"
    assert snapshot_tree(world.dr, point) == {"rows": b"before the stage\n"}
    assert tree(world.volume(world.dr, "ledger")) == {"rows": b"rows the stage copies\n"}


def test_failback_takes_a_restore_point_of_the_source_claim_before_copying_dr_back(
    data_clusters: DataClusters, prefect_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.dr_operations import failback, stage
    from tests.api.sync.conftest import unique_namespace

    monkeypatch.setenv("DRSYNCER_KEY_DIR", str(data_clusters.agents.work_dir / "controller"))
    source, dr = data_clusters.source, data_clusters.dr
    namespace = unique_namespace("rpfailback")
    source.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    source.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "books", "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    source.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "books-user", "namespace": namespace},
            "spec": {
                "containers": [{"name": "app", "image": "busybox"}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "books"}}],
            },
        }
    )

    def bound() -> bool:
        claim = source.get("v1", "PersistentVolumeClaim", "books", namespace) or {}
        return bool((claim.get("spec") or {}).get("volumeName"))

    poll(bound)
    config = [
        str(_data_config(data_clusters, namespace, tmp_path / "config.yaml", restore_points="csi-snap"))
    ]
    write(_volume(source, namespace, "books"), {"ledger": b"source rows before the failback\n"})
    with snapshot_controller(source), snapshot_controller(dr):
        assert stage(mapping=MAPPING, config=config, migrate_pvc_data=True, return_state=True).is_completed()
        write(_volume(dr, namespace, "books"), {"ledger": b"rows written in DR\n"})

        state = failback(mapping=MAPPING, config=config, yes=True, return_state=True, **TIMEOUTS)

        document = state.result(raise_on_failure=False)
        assert state.is_completed(), document
        found = source.objects(SNAPSHOT_API, "VolumeSnapshot", namespace)
        [point] = [p for p in found if p["metadata"]["labels"][labels.RESTORE_POINT_OPERATION] == "failback"]
        assert point["spec"]["source"] == {"persistentVolumeClaimName": "books"}
        assert snapshot_tree(source, point) == {"ledger": b"source rows before the failback\n"}
        assert tree(_volume(source, namespace, "books")) == {"ledger": b"rows written in DR\n"}
