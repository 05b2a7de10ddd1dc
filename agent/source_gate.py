#!/usr/bin/python3 -I
"""The pull key's forced command on source agents (``dr-syncer-source-gate``): one volume, read-only.

sshd runs this program for every login with a pull key
(``command="dr-syncer-source-gate --pods-dir /var/lib/kubelet/pods",restrict``). The client's command
arrives in ``SSH_ORIGINAL_COMMAND``; only an rsync *sender* request naming exactly one path is accepted::

    rsync --server --sender <options> . <pod uid>/volumes/kubernetes.io~csi/<pv>/mount/

The path must be a PersistentVolume mount path (exact shape, no globs), without symlinks, and a mount
point on this node (``agent/volume_dir.py``). The request is then handed to ``rrsync -ro`` rooted at
*that volume* (the path operand rewritten to ``./``), so rrsync's own checks (read-only, no ``..``, no
``-L``/``-k``/``-K``, ``--confine-root``) apply inside the volume and nothing else on the node is
reachable: not the pod's Secrets or projected tokens next to the volume, not other pods, not the host.

A key runs at most ``--max-sessions`` sessions at once (``agent/session_slots.py``).

Exit codes: 65 the request is refused (one line on stderr says why), 66 the volume does not exist on
this node, 69 rrsync is not installed, 75 this key already runs its maximum of sessions; otherwise
rrsync's/rsync's own exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.session_slots import DEFAULT_LOCK_DIR, DEFAULT_MAX_SESSIONS, SessionLimitError, acquire_slot
from agent.volume_dir import PROC_MOUNTINFO, VolumeDirError, open_volume_dir

EXIT_INVALID = 65
EXIT_NOT_FOUND = 66
EXIT_UNAVAILABLE = 69
EXIT_BUSY = 75
MAX_COMMAND_BYTES = 16 * 1024
SENDER_PREFIX = ("rsync", "--server", "--sender")


class GateError(Exception):
    """A request the gate refuses; carries the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def split_sender_command(command: str) -> tuple[list[str], str]:
    """``(options up to and including '.', path)`` of an rsync sender command naming one path.

    Raises:
        GateError: not an rsync sender request, or not exactly one path after the ``.`` operand.
    """
    if len(command) > MAX_COMMAND_BYTES:
        raise GateError(EXIT_INVALID, "command too long")
    words = command.split()
    if tuple(words[:3]) != SENDER_PREFIX:
        raise GateError(EXIT_INVALID, "the pull key only serves read-only rsync (rsync --server --sender)")
    if "." not in words:
        raise GateError(EXIT_INVALID, "invalid rsync server command (no '.' operand)")
    dot = words.index(".")
    paths = words[dot + 1 :]
    if len(paths) != 1:
        raise GateError(
            EXIT_INVALID, f"the pull key serves exactly one volume path per request, got {len(paths)}"
        )
    if not paths[0].endswith("/"):
        raise GateError(EXIT_INVALID, "the volume path must end with '/' (its contents are served)")
    return words[: dot + 1], paths[0]


def gate(command: str, *, pods_dir: str, mountinfo: str, rrsync: str) -> list[str]:
    """Check ``command``; return the rrsync argv to exec (the working directory is the pinned volume).

    Raises:
        GateError: the request is refused or the volume does not exist.
    """
    head, path = split_sender_command(command)
    try:
        pinned = open_volume_dir(pods_dir, path, mountinfo=mountinfo)
    except VolumeDirError as error:
        raise GateError(EXIT_NOT_FOUND if error.missing else EXIT_INVALID, str(error)) from None
    try:
        os.fchdir(pinned.fd)
    finally:
        pinned.close()
    os.environ["SSH_ORIGINAL_COMMAND"] = " ".join([*head, "./"])
    return [rrsync, "-ro", pinned.path]


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dr-syncer-source-gate", description="dr-syncer pull key gate")
    parser.add_argument("--pods-dir", required=True, help="kubelet pods directory")
    parser.add_argument("--mountinfo", default=PROC_MOUNTINFO, help="the mount table to check mounts in")
    parser.add_argument("--rrsync", default="/usr/bin/rrsync")
    parser.add_argument("--key-id", default="", help="the key's digest: sessions are limited per key")
    parser.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS)
    parser.add_argument("--lock-dir", default=DEFAULT_LOCK_DIR, help="where per-key session slots live")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Gate ``SSH_ORIGINAL_COMMAND`` and exec rrsync; return an exit code only when refusing."""
    config = _arguments(sys.argv[1:] if argv is None else argv)
    try:
        if config.key_id:
            acquire_slot(config.lock_dir, config.key_id, limit=config.max_sessions)  # held until we exit
        rrsync_argv = gate(
            os.environ.get("SSH_ORIGINAL_COMMAND", ""),
            pods_dir=config.pods_dir,
            mountinfo=config.mountinfo,
            rrsync=config.rrsync,
        )
        os.execv(rrsync_argv[0], rrsync_argv)  # noqa: S606 - an argv, no shell
    except GateError as error:
        sys.stderr.write(f"dr-syncer-source-gate: {error}\n")
        return error.code
    except SessionLimitError as error:
        sys.stderr.write(f"dr-syncer-source-gate: {error}\n")
        return EXIT_BUSY
    except FileNotFoundError:
        sys.stderr.write(f"dr-syncer-source-gate: {config.rrsync} is not installed\n")
        return EXIT_UNAVAILABLE
    except Exception as error:
        sys.stderr.write(f"dr-syncer-source-gate: request refused: {type(error).__name__}\n")
        return EXIT_INVALID
    return EXIT_INVALID  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
