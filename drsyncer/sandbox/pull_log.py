"""The sandbox agents' pull log: when each rsync a DR agent ran started and ended, for tests to order steps.

The sandbox runs ``agent/control.py`` with ``--rsync`` pointing at a small wrapper script (written here)
that appends one line (its wall-clock start, what the rsync does and its arguments — paths and options,
no secrets) and then ``exec``s rsync with every
argument unchanged — same process, so a timeout or a cut that kills it kills rsync. Its end is noticed
without polling: before the ``exec`` the wrapper opens a FIFO for writing (the descriptor rsync and its
own children inherit) whose background reader sees end-of-file when the last of them has exited, and
appends ``<start> <end>`` to a second log. The log is
independent of dr-syncer's own records, so a test can check *when* data moved against the API server's
audit log (both use wall-clock ``time.time()`` seconds). Used by tests only.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

WRAPPER_NAME = "rsync-logged"
LOG_NAME = "pulls.log"
ENDS_NAME = "pulls.ends.log"
KIND_OF_ARGUMENT = {"--version": "version", "--list-only": "listing"}


def wrapper_script(*, rsync: str, log: Path) -> str:
    """A POSIX sh script: log ``<start time> <kind> <arguments>``, arrange for ``<start> <end>`` to be
    logged when rsync (and every child holding the FIFO) has exited, then ``exec rsync "$@"``."""
    cases = " ".join(f"{argument}) kind={kind} ;;" for argument, kind in KIND_OF_ARGUMENT.items())
    ends = shlex.quote(str(log.with_name(ENDS_NAME)))
    fifo = shlex.quote(str(log.with_name(".end-"))) + "$$"
    return (
        "#!/bin/sh\n"
        "kind=transfer\n"
        f'for arg in "$@"; do case "$arg" in {cases} esac; done\n'
        "started=$(date +%s.%N)\n"
        f'printf "%s %s %s\\n" "$started" "$kind" "$*" >> {shlex.quote(str(log))}\n'
        f'fifo={fifo}\nrm -f "$fifo"\nmkfifo "$fifo"\n'
        f'{{ cat "$fifo"; rm -f "$fifo"; printf "%s %s\\n" "$started" "$(date +%s.%N)" >> {ends}; }}'
        " </dev/null >/dev/null 2>&1 &\n"
        'exec 9>"$fifo"\n'
        f'exec {shlex.quote(rsync)} "$@"\n'
    )


def install_wrapper(directory: Path, *, rsync: str) -> Path:
    """Write the wrapper (executable) and an empty log into ``directory``; returns the wrapper's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LOG_NAME).touch()
    wrapper = directory / WRAPPER_NAME
    wrapper.write_text(wrapper_script(rsync=rsync, log=directory / LOG_NAME), encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def with_logged_rsync(argv: list[str], directory: Path) -> list[str]:
    """``argv`` of the control program with its ``--rsync`` value replaced by the logging wrapper."""
    if "--rsync" not in argv:
        return argv
    index = argv.index("--rsync") + 1
    wrapper = install_wrapper(directory, rsync=argv[index])
    return [*argv[:index], str(wrapper), *argv[index + 1 :]]


@dataclass(frozen=True)
class Pull:
    """One rsync an agent started: what it did and when (wall clock)."""

    kind: str
    """``transfer`` (a copy, or its verification), ``listing`` (the empty-source guard), ``version``."""
    started: float
    arguments: str = ""
    """rsync's arguments joined by spaces (enough to check an option was passed)."""
    ended: float | None = None
    """When rsync and its children had all exited (``None`` while it runs)."""


def read_pulls(directory: Path) -> list[Pull]:
    """Every rsync logged under ``directory`` (recursively, one log per agent), by start time."""
    pulls: list[Pull] = []
    for log in sorted(directory.rglob(LOG_NAME)):
        ends_log = log.with_name(ENDS_NAME)
        ends = dict(
            line.split(" ", 1)
            for line in (ends_log.read_text(encoding="utf-8") if ends_log.exists() else "").splitlines()
        )
        for line in log.read_text(encoding="utf-8").splitlines():
            started, _, rest = line.partition(" ")
            kind, _, arguments = rest.partition(" ")
            ended = ends.get(started)
            pulls.append(
                Pull(
                    kind=kind,
                    started=float(started),
                    arguments=arguments,
                    ended=float(ended) if ended is not None else None,
                )
            )
    return sorted(pulls, key=lambda pull: pull.started)
