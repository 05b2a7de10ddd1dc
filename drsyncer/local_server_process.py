"""The local Prefect server process itself: Prefect's API and UI, stopping on its own when idle.

:mod:`drsyncer.local_server` starts this module as a detached process
(``python -m drsyncer.local_server_process --port N --idle-timeout S --state-file F``) with the
environment that points Prefect at the per-user SQLite database. It runs Prefect's own ASGI app
(``prefect.server.api.server.create_app``, as ``prefect server start`` does) under uvicorn, wrapped in
:class:`IdleTracker`, a small ASGI middleware that records when the last request ended and how many are
in flight (an open websocket, e.g. a flow run's event stream or the UI, counts as in flight).

Why the server measures its own idleness: it is the only party that sees every client (CLI runs,
``drsyncer serve``, workers, the UI), so no watcher process, no polling of logs and no cooperation from
clients is needed. When nothing is in flight and the last request ended ``--idle-timeout`` seconds ago,
uvicorn is asked to exit; a run in progress keeps the server up because it reports states, logs and
heartbeats. On exit the process removes the state file if the file still names it.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class IdleTracker:
    """ASGI middleware: counts requests in flight and remembers when the last one ended.

    Args:
        app: The wrapped ASGI application (Prefect's).
        clock: Monotonic clock in seconds.
    """

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self.in_flight = 0
        self.last_activity = clock()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting it while it runs (lifespan events are not requests)."""
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.last_activity = self.clock()

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while any request is in flight."""
        with self._lock:
            return 0.0 if self.in_flight else self.clock() - self.last_activity


def idle_check_interval(idle_timeout: float) -> float:
    """How often the watcher looks at the tracker: a tenth of the timeout, between 0.5 s and 30 s."""
    return min(30.0, max(0.5, idle_timeout / 10))


def watch_idle(
    tracker: IdleTracker, *, idle_timeout: float, stop: Callable[[], None], done: threading.Event
) -> None:
    """Call ``stop`` once the tracker has been idle for ``idle_timeout`` seconds (or ``done`` is set)."""
    interval = idle_check_interval(idle_timeout)
    while not done.wait(interval):
        if tracker.idle_for() >= idle_timeout:
            stop()
            return


def _remove_own_state_file(state_file: Path) -> None:
    """Delete the state file if it still describes this process (a replacement may have rewritten it)."""
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return
    if state.get("pid") == os.getpid():
        state_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    """Run the server until it has been idle for ``--idle-timeout`` seconds or gets SIGTERM."""
    parser = argparse.ArgumentParser(prog="drsyncer-local-prefect-server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    args = parser.parse_args(argv)

    import uvicorn
    from prefect.server.api.server import create_app

    tracker = IdleTracker(create_app(final=True))
    config = uvicorn.Config(
        app=tracker, host=args.host, port=args.port, log_level="warning", timeout_keep_alive=5
    )
    server = uvicorn.Server(config)
    done = threading.Event()

    def stop() -> None:
        print(f"idle for {args.idle_timeout:g} s: stopping", flush=True)
        server.should_exit = True

    watcher = threading.Thread(
        target=watch_idle,
        kwargs={"tracker": tracker, "idle_timeout": args.idle_timeout, "stop": stop, "done": done},
        name="idle-watcher",
        daemon=True,
    )
    watcher.start()
    try:
        server.run()
    finally:
        done.set()
        _remove_own_state_file(args.state_file)


if __name__ == "__main__":
    main()
