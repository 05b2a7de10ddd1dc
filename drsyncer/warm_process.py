"""The warm process: dr-syncer, Prefect, the flows and ``kubernetes`` imported once, a forked child per
command (the server side of :mod:`drsyncer.launcher`).

Lifecycle. A command that uses dr-syncer's local Prefect server starts it when it is not running
(:func:`drsyncer.warm_start.ensure_warm_process`, called by
:func:`drsyncer.prefect_env.apply_prefect_defaults`): a detached interpreter running :func:`main`,
logging to ``warm.log`` in the data directory. It imports everything heavy but starts nothing (no
thread, no event loop, no client: forking a process with threads is unsafe, so it refuses to fork if
any exists), then listens on ``warm.sock`` in the user's 0700 data directory, holding ``warm.lock`` so
that only one runs. It stops with the local server (it watches the server's
pid), after the server's idle timeout without a command, and when a command arrives from other code
(another :func:`~drsyncer.warm_protocol.code_version`): it refuses that command, closes its socket, and
the command's in-process run starts a fresh one.

Per command: the peer's uid must be ours (``SO_PEERCRED``). The child chdirs to the caller's directory,
takes its umask and its **whole** environment, its stdin/stdout/stderr, rebuilds what was computed from
the warm process's environment at import (Prefect's settings and logging, the consoles), and runs the
normal CLI (:data:`drsyncer.cli.main.app`) with the caller's argv; its exit status goes back to the
launcher. Children are reaped through pidfds on one selector: one thread, no SIGCHLD handler. A launcher
that disconnects before its child ends (killed) gets its child terminated.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import io
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drsyncer.warm_protocol import code_version, socket_path
from drsyncer.warm_start import ProcessRole, logging_environment, refresh_prefect

if TYPE_CHECKING:
    pass

LOCK_NAME = "warm.lock"
START_LOCK_WAIT_SECONDS = 10.0


def preload() -> None:
    """Import what the heavy commands need, starting nothing."""
    import httpx  # noqa: F401
    import kubernetes.client  # noqa: F401
    import prefect.flow_engine
    import prefect.runtime  # noqa: F401

    import drsyncer.cli.main
    import drsyncer.flow_heartbeat
    import drsyncer.kube.connect
    import drsyncer.quiet_prefect  # noqa: F401
    import flows.namespace_sync  # noqa: F401


@dataclass
class Running:
    """A child running one command, and the launcher waiting for it."""

    pid: int
    pidfd: int
    connection: socket.socket
    started: float


class WarmProcess:
    """The accept/fork/reap loop (single-threaded)."""

    def __init__(
        self,
        *,
        listener: socket.socket,
        path: Path,
        version: str,
        server_pidfd: int,
        idle_timeout: float,
        lock_fd: int | None = None,
    ) -> None:
        self.listener = listener
        self.path = path
        self.lock_fd = lock_fd
        self.version = version
        self.idle_timeout = idle_timeout
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        self.server_pidfd = server_pidfd
        self.selector.register(self.server_pidfd, selectors.EVENT_READ, "server")
        self.children: dict[int, Running] = {}
        self.last_activity = time.monotonic()
        self.stopping = False

    def serve(self) -> None:
        """Serve commands until the server stops, the idle timeout passes or a stale-version request."""
        while not (self.stopping and not self.children):
            for key, _ in self.selector.select(timeout=5.0):
                if key.data == "accept":
                    self._accept()
                elif key.data == "server":
                    log("the local Prefect server stopped: stopping")
                    self.selector.unregister(self.server_pidfd)
                    self.stop_accepting()
                elif isinstance(key.data, tuple):
                    kind, pid = key.data
                    if kind == "child":
                        self._reap(pid)
                    else:
                        self._launcher_left(pid)
            idle = time.monotonic() - self.last_activity
            if not self.children and not self.stopping and idle > self.idle_timeout:
                log(f"no command for {self.idle_timeout:.0f} s: stopping")
                self.stop_accepting()

    def stop_accepting(self) -> None:
        """Close the socket and give up the lock at once: a new warm process may start while this one
        waits for its running children."""
        if not self.stopping:
            self.stopping = True
            self.selector.unregister(self.listener)
            self.listener.close()
            self.path.unlink(missing_ok=True)
            if self.lock_fd is not None:
                os.close(self.lock_fd)  # releases the flock (children closed their copies at fork)
                self.lock_fd = None

    def _accept(self) -> None:
        connection, _ = self.listener.accept()
        self.last_activity = time.monotonic()
        try:
            request, fds = _receive_request(connection)
        except (OSError, ValueError) as error:
            log(f"bad request: {error}")
            connection.close()
            return
        try:
            refusal = self._refusal(connection, request)
            if "ping" in request:
                _send(connection, {"version": self.version})
                connection.close()
                return
            if refusal is None and len(fds) != 3:
                refusal = f"expected 3 file descriptors, got {len(fds)}"
            if refusal is not None:
                _send(connection, {"refused": refusal})
                connection.close()
                return
            pid = os.fork()
            if pid == 0:
                self._close_inherited(keep=connection)
                connection.close()
                run_child(request, fds)  # never returns
            self._track(pid, connection)
            _send(connection, {"pid": pid})
        finally:
            for fd in fds:
                os.close(fd)

    def _close_inherited(self, *, keep: socket.socket) -> None:
        """In a new child: close the warm process's listener, lock, selector and other children's ends."""
        self.listener.close()
        self.selector.close()
        os.close(self.server_pidfd)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
        for running in self.children.values():
            os.close(running.pidfd)
            if running.connection is not keep:
                running.connection.close()

    def _refusal(self, connection: socket.socket, request: dict[str, Any]) -> str | None:
        uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():
            return f"uid {uid} is not this warm process's user"
        version = request.get("ping", request.get("version"))
        if version != self.version:
            log(f"a command from other code ({version}, not {self.version}): refusing it and stopping")
            self.stop_accepting()
            return "another code version"
        if self.stopping:
            return "stopping"
        if threading.active_count() != 1:
            return "threads are running; forking is unsafe"
        return None

    def _track(self, pid: int, connection: socket.socket) -> None:
        pidfd = os.pidfd_open(pid)
        self.children[pid] = Running(pid, pidfd, connection, time.monotonic())
        self.selector.register(pidfd, selectors.EVENT_READ, ("child", pid))
        self.selector.register(connection, selectors.EVENT_READ, ("launcher", pid))

    def _reap(self, pid: int) -> None:
        running = self.children.pop(pid)
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        log(
            f"child {pid}: exit {code}, {time.monotonic() - running.started:.2f} s, "
            f"cpu {usage.ru_utime + usage.ru_stime:.2f} s, peak RSS {usage.ru_maxrss // 1024} MiB"
        )
        self.selector.unregister(running.pidfd)
        self.selector.unregister(running.connection)
        os.close(running.pidfd)
        with contextlib.suppress(OSError):  # the launcher is gone: nobody to tell
            _send(running.connection, {"exit": code if code >= 0 else 128 - code})
        running.connection.close()
        self.last_activity = time.monotonic()

    def _launcher_left(self, pid: int) -> None:
        running = self.children[pid]
        if running.connection.recv(1, socket.MSG_PEEK):
            return  # nothing is sent after the request; ignore stray bytes
        log(f"the launcher of child {pid} went away: terminating the child")
        self.selector.unregister(running.connection)
        os.kill(pid, signal.SIGTERM)


def _receive_request(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    connection.settimeout(10.0)
    data, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    buffer = bytearray(data)
    while b"\n" not in buffer:
        chunk = connection.recv(1 << 20)
        if not chunk:
            raise ValueError("incomplete request")
        buffer += chunk
    connection.settimeout(None)
    request: dict[str, Any] = json.loads(bytes(buffer).partition(b"\n")[0])
    return request, fds


def _send(connection: socket.socket, message: dict[str, Any]) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")


def run_child(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the caller's command and run the CLI as the ``drsyncer`` script does.

    Never returns: the command's ``SystemExit`` (or any uncaught exception, e.g. a KeyboardInterrupt)
    unwinds to the top of the interpreter, which exits as a cold run would — at-exit handlers included
    (Prefect drains its events and logs there). The warm process's own clean-up is guarded by its pid.
    """
    from drsyncer.cli.output import reset_consoles

    ProcessRole.in_child = True
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    try:
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        _reopen_standard_streams()
        refresh_prefect(logging=False)  # logging: after apply_prefect_defaults, as a cold command does
        reset_consoles()
    except Exception as error:  # told to the caller, whose stderr this now is
        os.write(2, f"error: dr-syncer's warm process could not start the command: {error}\n".encode())
        raise SystemExit(1) from error
    from drsyncer.cli.main import app

    app()
    raise SystemExit(0)


def _reopen_standard_streams() -> None:
    """New ``sys.std*`` objects for the received descriptors: line buffering and encoding follow what
    they are now (a terminal or a pipe), as in a freshly started interpreter."""
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        old: io.TextIOWrapper = getattr(sys, name)
        errors = "backslashreplace" if name == "stderr" else old.errors
        stream = open(  # noqa: SIM115 - lives as long as the process
            fd,
            mode,
            buffering=1 if mode == "w" and (os.isatty(fd) or name == "stderr") else -1,
            encoding=old.encoding,
            errors=errors,
            closefd=False,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def log(line: str) -> None:
    """One line in ``warm.log`` (the warm process's stdout)."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {line}", flush=True)


def _hold_lock(data_dir: Path) -> int | None:
    """The exclusive lock that makes this the only warm process (waits a little for one that exits)."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + START_LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    """The warm process; :func:`drsyncer.warm_start.ensure_warm_process` starts it with
    ``--data-dir D --server-pid N --idle-timeout S``."""
    parser = argparse.ArgumentParser(prog="drsyncer.warm_process")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, required=True)
    options = parser.parse_args(argv)
    os.chdir("/")
    version = code_version()
    preload()
    ProcessRole.logging_configured_from = logging_environment()  # Prefect configured logging at import
    if threading.active_count() != 1:
        log(f"threads after imports ({threading.enumerate()}): a fork would be unsafe; not starting")
        return
    gc.collect()
    gc.freeze()  # children share the imported modules' pages: no collector pass copies them per command
    lock = _hold_lock(options.data_dir)
    if lock is None:
        log("another warm process holds the lock: not starting")
        return
    try:
        server_pidfd = os.pidfd_open(options.server_pid)
    except ProcessLookupError:
        log("the local Prefect server is not running: not starting")
        return
    path = socket_path({"DRSYNCER_DATA_DIR": str(options.data_dir)})
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    listener.bind(str(path))
    os.umask(old_umask)
    listener.listen(16)
    owner = os.getpid()
    log(f"listening on {path} for the local server pid {options.server_pid}")
    warm = WarmProcess(
        listener=listener,
        path=path,
        version=version,
        server_pidfd=server_pidfd,
        idle_timeout=options.idle_timeout,
        lock_fd=lock,
    )
    try:
        warm.serve()
    finally:
        if os.getpid() == owner:  # a child unwinding its SystemExit through here leaves all this alone
            warm.stop_accepting()
            log("stopped")
