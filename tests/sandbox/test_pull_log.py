"""The sandbox agents' pull log: the wrapper logs each rsync's start, kind and arguments, then is rsync."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from drsyncer.sandbox.pull_log import read_pulls, with_logged_rsync


def _fake_rsync(directory: Path, *, exit_code: int) -> Path:
    """A stand-in for rsync that prints its arguments and exits with ``exit_code``."""
    program = directory / "fake-rsync"
    program.write_text(f'#!/bin/sh\necho "ran $*"\nexit {exit_code}\n', encoding="utf-8")
    program.chmod(0o755)
    return program


def test_the_control_program_gets_the_wrapper_and_every_other_argument_unchanged(tmp_path: Path) -> None:
    argv = [sys.executable, "control.py", "--rsync", "/usr/bin/rsync", "--ssh", "/usr/bin/ssh"]

    wrapped = with_logged_rsync(argv, tmp_path)

    assert wrapped[:3] == argv[:3]
    assert wrapped[4:] == argv[4:]
    assert Path(wrapped[3]).parent == tmp_path
    assert "exec /usr/bin/rsync" in Path(wrapped[3]).read_text(encoding="utf-8")


def test_each_run_is_logged_with_its_kind_and_arguments_and_keeps_rsyncs_output_and_exit_code(
    tmp_path: Path,
) -> None:
    fake = _fake_rsync(tmp_path, exit_code=23)
    wrapper = Path(with_logged_rsync(["control", "--rsync", str(fake)], tmp_path / "agent")[2])

    listed = subprocess.run([wrapper, "--list-only", "src/"], capture_output=True, text=True, check=False)
    copied = subprocess.run(
        [wrapper, "-a", "--bwlimit=1024", "src/", "dst/"], capture_output=True, text=True, check=False
    )

    assert (listed.stdout, copied.stdout) == ("ran --list-only src/\n", "ran -a --bwlimit=1024 src/ dst/\n")
    assert copied.returncode == 23
    pulls = read_pulls(tmp_path)
    assert [(pull.kind, pull.arguments) for pull in pulls] == [
        ("listing", "--list-only src/"),
        ("transfer", "-a --bwlimit=1024 src/ dst/"),
    ]
    assert pulls[0].started <= pulls[1].started


def test_each_run_logs_when_it_ended_after_rsync_exits(tmp_path: Path) -> None:
    program = tmp_path / "slow-rsync"
    program.write_text("#!/bin/sh\nsleep 0.3\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    wrapper = Path(with_logged_rsync(["control", "--rsync", str(program)], tmp_path / "agent")[2])

    subprocess.run([wrapper, "-a", "src/", "dst/"], check=True)

    deadline = time.monotonic() + 10
    while (pull := read_pulls(tmp_path)[0]).ended is None:
        assert time.monotonic() < deadline, "the end of the run was never logged"
        time.sleep(0.02)
    assert pull.ended - pull.started >= 0.3
    assert not list((tmp_path / "agent").glob(".end-*")), "the wrapper's FIFO was left behind"
