"""The ``drsyncer`` entry point: hand a heavy command to the warm process, or run it here.

A cold ``drsyncer sync`` spends over a second importing Python, Prefect, the flows and the ``kubernetes``
library before it does anything. While dr-syncer's local Prefect server runs, a *warm process*
(:mod:`drsyncer.warm_process`) keeps all of that imported and forks a child per command. This module is
what the ``drsyncer`` script runs; it imports only the standard library, so it costs a few milliseconds:

1. For a heavy command (:data:`WARM_COMMANDS`), unless ``DRSYNCER_WARM=0``, it connects to the warm
   process's unix socket in the user's data directory and sends argv, the working directory, the umask,
   the **whole** environment and the code version (:func:`~drsyncer.warm_protocol.code_version`), with
   its stdin, stdout and stderr file descriptors (``SCM_RIGHTS``).
2. The warm process answers with the child's pid (or refuses: another code version, another user), then
   with the child's exit status. Meanwhile SIGINT, SIGTERM and SIGHUP received here are forwarded to the
   child, so Ctrl-C behaves as in a cold run.
3. Anything that goes wrong before a child exists (no warm process, a refusal, a dead socket) falls back,
   silently, to the normal in-process path: :func:`drsyncer.cli.main.app`. The result is never
   different, only the start-up cost.

Protocol (one connection per command, JSON lines): request ``{"version", "argv", "cwd", "umask", "env"}``
with three fds; replies ``{"pid": N}`` then ``{"exit": CODE}``, or ``{"refused": REASON}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from types import FrameType
from typing import Any

from drsyncer.warm_protocol import code_version, socket_path

WARM_COMMANDS = frozenset({"sync", "plan", "status", "stage", "cutover", "failback", "resume"})
"""Commands worth a warm process: they import Prefect, the flows or the ``kubernetes`` library. Help,
``--version``, ``validate`` and the long-running or process-managing commands (``serve``, ``server``,
``demo``, ``exporter``) always run in-process."""

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CONNECT_TIMEOUT_SECONDS = 2.0


def wants_warm(argv: list[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether ``drsyncer ARGV`` should try the warm process."""
    if environ.get("DRSYNCER_WARM", "1") == "0" or len(argv) < 2:
        return False
    return argv[1] in WARM_COMMANDS and not {"--help", "-h"} & set(argv[2:])


def read_message(connection: socket.socket, buffer: bytearray) -> dict[str, Any] | None:
    """The next JSON line from ``connection`` (``None`` at end of stream); ``buffer`` keeps the rest."""
    while b"\n" not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    message: dict[str, Any] = json.loads(line)
    return message


def run_warm(argv: list[str]) -> int | None:
    """Run ``argv`` in a child of the warm process; its exit code, or ``None`` to run it here instead."""
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(CONNECT_TIMEOUT_SECONDS)
        connection.connect(str(socket_path(os.environ)))
        umask = os.umask(0o22)
        os.umask(umask)
        request = {
            "version": code_version(),
            "argv": argv,
            "cwd": os.getcwd(),
            "umask": umask,
            "env": dict(os.environ),
        }
        socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        buffer = bytearray()
        reply = read_message(connection, buffer)
    except (OSError, ValueError):
        return None
    if reply is None or "pid" not in reply:
        connection.close()
        return None
    return _wait_for_child(connection, buffer, pid=int(reply["pid"]))


def _wait_for_child(connection: socket.socket, buffer: bytearray, *, pid: int) -> int:
    """Forward signals to the child until the warm process reports its exit status."""

    def forward(signum: int, frame: FrameType | None) -> None:
        del frame
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    connection.settimeout(None)
    try:
        reply = read_message(connection, buffer)
    except (OSError, ValueError):
        reply = None
    finally:
        connection.close()
    if reply is None or "exit" not in reply:
        print(
            f"error: dr-syncer's warm process stopped while running this command (child pid {pid}); "
            "run it again, or set DRSYNCER_WARM=0 to run commands in their own process",
            file=sys.stderr,
        )
        return 1
    return int(reply["exit"])


def main() -> None:
    """The ``drsyncer`` script."""
    if wants_warm(sys.argv, os.environ):
        code = run_warm(list(sys.argv))
        if code is not None:
            sys.exit(code)
    from drsyncer.cli.main import app

    app()
