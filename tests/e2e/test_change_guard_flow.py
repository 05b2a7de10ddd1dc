"""The change guard through the real namespace-sync flow: sandbox clusters, real sshd + rsync agents.

A source volume encrypted in place or half deleted is *held*: the PVC's status is ``held`` with the
counts and sample paths, the run fails with a message naming the release, and the DR copy keeps its old
bytes. A normal 1 % change passes. An acceptance (annotation on the DR claim, or
``drsyncer sync --accept-changes``) lets exactly one sync through.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from drsyncer import labels
from drsyncer.kube.client import object_path
from drsyncer.kube.connect import client_from_kubeconfig_file
from tests.e2e.test_pvc_data_flow import DataWorld, clusters, tree, world, write

__all__ = ["clusters", "world"]  # module-scoped clusters and the per-test world, shared with the data flow

FILES = 200
DRSYNCER = str(Path(sys.executable).parent / "drsyncer")


def seeded(world: DataWorld, claim: str) -> Path:
    """A claim of ``FILES`` small files in two directories, synced once to DR."""
    source = world.claim(claim)
    write(source, {f"d{i % 2}/f{i}.db": f"row {i}\n".encode() * 30 for i in range(FILES)})
    state, report = world.sync()
    assert state.is_completed(), report
    return source


def encrypt_in_place(root: Path) -> None:
    """What ransomware does: every file's bytes replaced, same names (size and mtime change)."""
    for path in root.rglob("*.db"):
        path.write_bytes(b"ENCRYPTED" + bytes(b ^ 0xA5 for b in path.read_bytes()))


def dr_annotations(world: DataWorld, claim: str) -> dict[str, Any]:
    obj = world.dr.get("v1", "PersistentVolumeClaim", claim, world.namespace) or {}
    return dict(obj["metadata"].get("annotations") or {})


def annotate_dr_claim(world: DataWorld, claim: str) -> None:
    client = client_from_kubeconfig_file("dr", world.clusters.workdir / "dr.kubeconfig", "dr")
    try:
        path = object_path(
            group="", version="v1", plural="persistentvolumeclaims", namespace=world.namespace, name=claim
        )
        client.patch(path, {"metadata": {"annotations": {labels.ACCEPT_CHANGES: "migration-42"}}})
    finally:
        client.close()


def test_a_source_encrypted_in_place_is_held_and_dr_keeps_the_old_bytes(world: DataWorld) -> None:
    source = seeded(world, "ledger")
    good = tree(world.volume(world.dr, "ledger"))
    encrypt_in_place(source)

    state, report = world.sync()

    assert not state.is_completed()
    pvc = report["pvcs"][0]
    assert pvc["status"] == "held"
    assert pvc["changeGuard"]["changed"] == FILES
    assert pvc["changeGuard"]["changedPercent"] == 100.0
    assert len(pvc["changeGuard"]["changedSample"]) == 10
    assert "change guard" in pvc["error"]
    assert "--accept-changes ledger" in pvc["error"]
    assert "held" in (state.message or "")
    assert tree(world.volume(world.dr, "ledger")) == good


def test_half_the_files_deleted_is_held(world: DataWorld) -> None:
    source = seeded(world, "half")
    good = tree(world.volume(world.dr, "half"))
    for path in (source / "d1").iterdir():
        path.unlink()

    state, report = world.sync()

    assert not state.is_completed()
    pvc = report["pvcs"][0]
    assert pvc["status"] == "held"
    assert pvc["changeGuard"]["deleted"] == FILES // 2
    assert all(path.startswith("d1/") for path in pvc["changeGuard"]["deletedSample"])
    assert tree(world.volume(world.dr, "half")) == good


def test_a_normal_one_percent_change_passes(world: DataWorld) -> None:
    source = seeded(world, "busy")
    write(source, {"d0/f0.db": b"updated\n", "d1/f1.db": b"updated too\n"})

    state, report = world.sync()

    assert state.is_completed(), report
    pvc = report["pvcs"][0]
    assert pvc["status"] == "synced"
    assert pvc["changeGuard"]["changed"] == 2
    assert tree(world.volume(world.dr, "busy")) == tree(source)


def test_an_acceptance_annotation_releases_exactly_one_sync(world: DataWorld) -> None:
    source = seeded(world, "migrated")
    encrypt_in_place(source)
    assert world.sync()[1]["pvcs"][0]["status"] == "held"
    annotate_dr_claim(world, "migrated")

    state, report = world.sync()

    assert state.is_completed(), report
    assert tree(world.volume(world.dr, "migrated")) == tree(source)
    assert labels.ACCEPT_CHANGES not in dr_annotations(world, "migrated")
    encrypt_in_place(source)  # the next wholesale rewrite needs its own acceptance
    state, report = world.sync()
    assert report["pvcs"][0]["status"] == "held"


def test_sync_accept_changes_releases_the_named_claim(
    world: DataWorld, prefect_api_env: dict[str, str]
) -> None:
    source = seeded(world, "cli")
    encrypt_in_place(source)
    assert world.sync()[1]["pvcs"][0]["status"] == "held"
    env = prefect_api_env | {"DRSYNCER_KEY_DIR": str(world.clusters.key_dir)}
    command = [DRSYNCER, "sync", str(world.config), "--mapping", "data", "--accept-changes", "cli"]

    with world.source_writes.product_runs():
        result = subprocess.run(
            [*command, "--output", "json"], env=env, capture_output=True, text=True, timeout=180, check=False
        )

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["pvcs"][0]["changeGuard"]["changed"] == FILES
    assert tree(world.volume(world.dr, "cli")) == tree(source)
    assert labels.ACCEPT_CHANGES not in dr_annotations(world, "cli")
    refused = subprocess.run(
        [*command[:-1], "no-such-claim"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert refused.returncode == 2
    assert "no-such-claim" in refused.stderr
