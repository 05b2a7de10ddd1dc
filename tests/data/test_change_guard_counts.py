"""The change guard counts real rsync dry runs (``tasks/data/change_guard.py``): local rsync, no ssh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.data.change_guard import ChangeCounter, ChangeGuardLimits, ChangeSummary, held_reason

DRY_RUN = ["rsync", "-a", "--delete", "--dry-run", "--itemize-changes", "--out-format=%i %n%L", "--stats"]


def dry_run(source: Path, destination: Path) -> ChangeSummary:
    """What rsync's dry run of ``source/`` over ``destination/`` says, counted."""
    rsync = shutil.which("rsync")
    assert rsync is not None, "rsync is required (apt-get install rsync)"
    output = subprocess.run(
        [*DRY_RUN, f"{source}/", f"{destination}/"], capture_output=True, text=True, check=True
    ).stdout
    return ChangeCounter().feed_all(output.splitlines()).summary()


@pytest.fixture
def mirrored(tmp_path: Path) -> tuple[Path, Path]:
    """A source of 200 files in two directories, mirrored into a DR copy."""
    source, destination = tmp_path / "source", tmp_path / "dr"
    for index in range(200):
        path = source / f"d{index % 2}" / f"f{index}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"record {index}\n".encode() * 20)
    subprocess.run(["rsync", "-a", f"{source}/", f"{destination}/"], check=True)
    return source, destination


def test_a_mirrored_copy_counts_nothing(mirrored: tuple[Path, Path]) -> None:
    summary = dry_run(*mirrored)

    assert (summary.dr_files, summary.deleted, summary.changed, summary.created) == (200, 0, 0, 0)
    assert not summary.touches_dr_copy


def test_files_encrypted_in_place_count_as_changed(mirrored: tuple[Path, Path]) -> None:
    source, _ = mirrored
    for path in source.rglob("*.dat"):
        path.write_bytes(bytes(b ^ 0x5A for b in path.read_bytes()) + b"ransom-header")

    summary = dry_run(*mirrored)

    assert summary.changed == 200
    assert summary.changed_percent == 100.0
    assert len(summary.changed_sample) == 10
    assert held_reason(summary, ChangeGuardLimits()) is not None


def test_deletions_and_new_names_are_counted_apart_and_directories_never(
    mirrored: tuple[Path, Path],
) -> None:
    source, _ = mirrored
    shutil.rmtree(source / "d1")  # 100 files and their directory
    (source / "new").mkdir()
    (source / "new" / "a.locked").write_bytes(b"x")

    summary = dry_run(*mirrored)

    assert (summary.dr_files, summary.deleted, summary.created, summary.changed) == (200, 100, 1, 0)
    assert all(path.startswith("d1/") for path in summary.deleted_sample)
    reason = held_reason(summary, ChangeGuardLimits())
    assert reason is not None
    assert "100 of 200 files (50.0 %) would be deleted" in reason


def test_a_one_percent_change_passes_the_default_limits(mirrored: tuple[Path, Path]) -> None:
    source, _ = mirrored
    (source / "d0" / "f0.dat").write_bytes(b"new content\n")
    (source / "d1" / "f1.dat").unlink()

    summary = dry_run(*mirrored)

    assert (summary.changed, summary.deleted) == (1, 1)
    assert summary.touches_dr_copy
    assert held_reason(summary, ChangeGuardLimits()) is None
