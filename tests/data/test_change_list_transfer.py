"""The guarded two-phase sync on real agents: the dry run's change list drives the real transfer.

``tasks/data/change_list.py``: the change guard's dry run writes the paths it would touch on the DR agent;
the real pull reads only those (``--files-from --delete-missing-args``). The DR copy must still equal
the source exactly, and the real run must not walk the tree again.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from drsyncer.errors import DataSafetyError
from tasks.data.change_check import preview_changes
from tasks.data.change_guard import ChangeGuardLimits
from tasks.data.retry import RetryPolicy
from tasks.data.rsync_command import RsyncOptions
from tasks.data.transfer import TransferResult, TransferSpec, transfer_pvc
from tests.data.agent_access import control, pull_request
from tests.data.trees import build_rich_tree, snapshot
from tests.fixtures.agents import DataSandbox, Volume

FAST_RETRY = RetryPolicy(max_retries=2, initial_backoff_seconds=0.05, max_backoff_seconds=0.2, jitter=0.0)
UNCHANGED_FILES = 300


def _mirrored(sandbox: DataSandbox, **spec_fields: object) -> tuple[Volume, Volume, TransferSpec]:
    """A rich source tree plus many unchanged files, mirrored once into a fresh DR volume."""
    source, destination = sandbox.volume("prod-1"), sandbox.volume("dr-1")
    build_rich_tree(source.path)
    for index in range(UNCHANGED_FILES):
        path = source.path / "bulk" / f"d{index % 10}" / f"f{index}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"row {index}\n".encode() * 10)
    (source.path / "gone" / "sub").mkdir(parents=True)
    for index in range(5):
        (source.path / "gone" / "sub" / f"g{index}").write_text(f"g{index}")
    (source.path / "becomes-file").mkdir()
    (source.path / "becomes-file" / "inner").write_text("inner")
    (source.path / "empty-old").mkdir()
    (source.path / "to-rename").write_text("rename me")
    (source.path / "same-size").write_text("AAAA")
    spec = TransferSpec(source=source.endpoint, destination=destination.endpoint, **spec_fields)  # type: ignore[arg-type]
    _pull(sandbox, spec)
    assert snapshot(destination.path, dir_times=True) == snapshot(source.path, dir_times=True)
    return source, destination, spec


def _pull(sandbox: DataSandbox, spec: TransferSpec) -> TransferResult:
    return transfer_pvc(spec, sandbox.credentials, retry_policy=FAST_RETRY)


def _change_everything_but_bulk(root: Path) -> None:
    """One of each kind of change a mirror must carry over."""
    (root / "new-dir" / "deeper").mkdir(parents=True)
    (root / "new-dir" / "deeper" / "new.txt").write_text("new file in a new dir")
    shutil.rmtree(root / "gone")  # a whole tree deleted
    shutil.rmtree(root / "becomes-file")
    (root / "becomes-file").write_text("a directory replaced by a file")
    (root / "to-rename").rename(root / "renamed")
    (root / "link-to-deep").unlink()
    os.symlink("script.sh", root / "link-to-deep")  # symlink retargeted
    os.chmod(root / "private", 0o640)  # mode only
    (root / "empty-new").mkdir()
    (root / "empty-old").rmdir()
    (root / "same-size").write_text("BBBB")  # same size, new mtime: the quick check sees it
    os.utime(root / "same-size", (1_700_000_000, 1_700_000_000))
    os.utime(root / "a" / "b", (1_650_000_000, 1_650_000_000))  # a directory's mtime only
    kept = (root / "a" / "b" / "c").stat()
    (root / "a" / "b" / "c" / "deep.txt").unlink()  # deleted, its directory's mtime put back by hand
    os.utime(root / "a" / "b" / "c", ns=(kept.st_atime_ns, kept.st_mtime_ns))


def test_guarded_sync_mirrors_every_kind_of_change_exactly(data_sandbox: DataSandbox) -> None:
    source, destination, spec = _mirrored(data_sandbox)
    _change_everything_but_bulk(source.path)

    summary = preview_changes(spec, data_sandbox.credentials, retry_policy=FAST_RETRY)
    result = _pull(data_sandbox, dataclasses.replace(spec, change_list=summary.change_list))

    assert summary.change_list is not None
    assert snapshot(destination.path, dir_times=True) == snapshot(source.path, dir_times=True)
    assert result.stats is not None
    assert result.files_total < UNCHANGED_FILES / 5  # the real run saw the changes, not the tree
    assert not (destination.path / "gone").exists()


def test_a_dry_run_without_changes_leaves_nothing_to_transfer(data_sandbox: DataSandbox) -> None:
    _, _, spec = _mirrored(data_sandbox)

    summary = preview_changes(spec, data_sandbox.credentials, retry_policy=FAST_RETRY)

    assert summary.nothing_to_transfer
    assert summary.entries == 0


def test_a_used_change_list_is_gone_and_the_next_pull_walks_the_tree(data_sandbox: DataSandbox) -> None:
    source, destination, spec = _mirrored(data_sandbox)
    (source.path / "one-more").write_text("x")
    summary = preview_changes(spec, data_sandbox.credentials, retry_policy=FAST_RETRY)
    limited = dataclasses.replace(spec, change_list=summary.change_list)
    _pull(data_sandbox, limited)
    (source.path / "after-the-dry-run").write_text("y")

    again = _pull(data_sandbox, limited)

    assert again.files_total > UNCHANGED_FILES  # the list was consumed: a full, correct walk
    assert snapshot(destination.path, dir_times=True) == snapshot(source.path, dir_times=True)


def test_hard_links_make_the_real_run_walk_the_tree(data_sandbox: DataSandbox) -> None:
    source, destination, spec = _mirrored(data_sandbox, options=RsyncOptions(extra_options=("-H",)))
    os.link(source.path / "private", source.path / "private-link")

    summary = preview_changes(spec, data_sandbox.credentials, retry_policy=FAST_RETRY)
    _pull(data_sandbox, dataclasses.replace(spec, change_list=summary.change_list))

    assert summary.change_list is None
    assert (destination.path / "private-link").stat().st_ino == (destination.path / "private").stat().st_ino


def test_an_emptied_source_is_named_empty_not_held_as_deleted(data_sandbox: DataSandbox) -> None:
    source, destination, spec = _mirrored(data_sandbox)
    for entry in source.path.iterdir():
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    with pytest.raises(DataSafetyError, match="source volume is empty"):
        preview_changes(spec, data_sandbox.credentials, retry_policy=FAST_RETRY)

    assert (destination.path / "bulk").is_dir()  # untouched


@pytest.mark.parametrize("value", ["/etc/passwd", "../../sessions/x", "0" * 31, "A" * 32, 7, ["x"]])
def test_a_pull_cannot_name_its_own_change_list_file(data_sandbox: DataSandbox, value: object) -> None:
    source, destination = data_sandbox.volume("prod-1"), data_sandbox.volume("dr-1")
    (destination.path / "kept").write_text("DR data")

    result = control(
        data_sandbox,
        pull_request(data_sandbox, source.endpoint.path, destination.endpoint.path, changeList=value),
    )

    assert result.returncode == 65
    assert "changeList" in result.stderr
    assert (destination.path / "kept").read_text() == "DR data"


def test_a_single_session_guarded_pull_holds_an_encrypted_source_and_writes_nothing(
    data_sandbox: DataSandbox,
) -> None:
    source, destination, spec = _mirrored(data_sandbox)
    before = snapshot(destination.path, dir_times=True)
    for path in (source.path / "bulk").rglob("*.dat"):
        path.write_bytes(bytes(b ^ 0x5A for b in path.read_bytes()) + b"locked")

    result = _pull(data_sandbox, dataclasses.replace(spec, guard=ChangeGuardLimits()))

    assert result.held is not None
    assert "would be rewritten" in result.held
    assert result.files_transferred == 0
    assert snapshot(destination.path, dir_times=True) == before


def test_a_single_session_guarded_pull_mirrors_a_normal_change_through_its_list(
    data_sandbox: DataSandbox,
) -> None:
    source, destination, spec = _mirrored(data_sandbox)
    guarded = dataclasses.replace(spec, guard=ChangeGuardLimits())
    nothing = _pull(data_sandbox, guarded)
    _change_everything_but_bulk(source.path)

    result = _pull(data_sandbox, guarded)

    assert nothing.held is None
    assert nothing.change_summary is not None
    assert nothing.change_summary.nothing_to_transfer
    assert nothing.files_total == 0  # no real run at all
    assert result.held is None
    assert result.files_total < UNCHANGED_FILES / 5
    assert snapshot(destination.path, dir_times=True) == snapshot(source.path, dir_times=True)


@pytest.mark.parametrize(
    "value", [{"maxDeletedPercent": "20"}, {"maxChangedPercent": 101}, {"minFiles": -1}, {"files": 1}, [20]]
)
def test_a_pull_refuses_malformed_guard_limits(data_sandbox: DataSandbox, value: object) -> None:
    source, destination = data_sandbox.volume("prod-1"), data_sandbox.volume("dr-1")

    result = control(
        data_sandbox, pull_request(data_sandbox, source.endpoint.path, destination.endpoint.path, guard=value)
    )

    assert result.returncode == 65
    assert "guard" in result.stderr
