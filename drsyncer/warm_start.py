"""Starting the warm process, and what a warm child re-reads from its caller's environment.

The half of the warm process (:mod:`drsyncer.warm_process`) that the commands' own code calls, kept apart
so that it imports neither the CLI nor the flows (the layers stay one-way): once
:func:`drsyncer.prefect_env.apply_prefect_defaults` has set the environment, :func:`after_prefect_defaults`
either makes Prefect re-read it (in a warm child, where Prefect was imported before the caller's
environment arrived) or starts a warm process for the next commands (in a cold command that uses the
local server). :func:`answers` pings a warm process without forking anything.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from drsyncer.warm_protocol import SOCKET_NAME, code_version

if TYPE_CHECKING:
    from drsyncer.local_server import ServerState

LOG_NAME = "warm.log"
PING_TIMEOUT_SECONDS = 1.0


def answers(path: Path, version: str) -> bool:
    """Whether a warm process of this code ``version`` listens on ``path`` (one ping, no fork)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(PING_TIMEOUT_SECONDS)
            probe.connect(str(path))
            probe.sendall(json.dumps({"ping": version}).encode() + b"\n")
            reply = probe.recv(4096)
    except OSError:
        return False
    return reply.startswith(b'{"version"') and json.loads(reply.partition(b"\n")[0])["version"] == version


def ensure_warm_process(data_dir: Path, *, server_pid: int, idle_timeout: int) -> None:
    """Start the warm process for the local server ``server_pid`` unless one of this code answers.

    Never waits for it and never fails the command: the next command uses it once it listens.
    """
    if os.environ.get("DRSYNCER_WARM", "1") == "0" or ProcessRole.in_child:
        return
    if answers(data_dir / SOCKET_NAME, code_version()):
        return
    log_fd = os.open(data_dir / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.posix_spawn(
            sys.executable,
            [
                sys.executable,
                "-P",
                "-c",
                "import sys; from drsyncer.warm_process import main; main(sys.argv[1:])",
                "--data-dir",
                str(data_dir),
                "--server-pid",
                str(server_pid),
                "--idle-timeout",
                str(idle_timeout),
            ],
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log_fd)


def after_prefect_defaults(data_dir: Path, *, server: ServerState | None) -> None:
    """Called once :func:`drsyncer.prefect_env.apply_prefect_defaults` has set the environment: in a warm
    child, Prefect (imported before) re-reads it; in a cold command using the local ``server``, the warm
    process is started for the next commands."""
    if ProcessRole.in_child:
        refresh_prefect(logging=True)
    elif server is not None:
        ensure_warm_process(data_dir, server_pid=server.pid, idle_timeout=server.idle_timeout)


class ProcessRole:
    """Whether this process is a child of the warm process (which never starts another), and the
    environment Prefect's logging was last configured from."""

    in_child = False
    logging_configured_from: dict[str, str] = {}


def logging_environment() -> dict[str, str]:
    """The variables Prefect's logging configuration is built from (levels, handlers, its file)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key.startswith(("PREFECT_LOGGING_", "PREFECT_HOME", "PREFECT_PROFILE"))
    }


def refresh_prefect(*, logging: bool) -> None:
    """Recompute what Prefect, imported in the warm process, derived from its environment: its settings
    (``PREFECT_API_URL`` and every other ``PREFECT_*`` of the caller win) and, with ``logging``, its
    logging configuration (rebuilt only when its variables differ from the last build: it costs ~0.1 s).

    A cold command configures Prefect's logging when it imports Prefect, which every command that uses
    Prefect does after :func:`drsyncer.prefect_env.apply_prefect_defaults`; so a child rebuilds logging
    there (``logging=True``), not at its start."""
    import prefect.context

    prefect.context.refresh_global_settings_context()
    if logging and logging_environment() != ProcessRole.logging_configured_from:
        from prefect.logging.configuration import setup_logging

        setup_logging(incremental=False)
        ProcessRole.logging_configured_from = logging_environment()
