"""dr-syncer's local Prefect server: one per user, started on first use, outliving the command.

When ``PREFECT_API_URL`` is unset (and ``DRSYNCER_PREFECT`` is not ``ephemeral``), every command that
talks to Prefect goes through :func:`use_local_server`: it reuses the user's running local server, or
starts one, and points ``PREFECT_API_URL`` at it. Runs and their history therefore persist across
commands, and the UI shows them, without paying Prefect's temporary-server start-up (8-18 s) each time.

Files, all under ``DRSYNCER_DATA_DIR`` (default ``$XDG_DATA_HOME/dr-syncer``)::

    prefect.db     the server's SQLite database (runs, logs, artifacts, deployments)
    server.json    state file: pid, port, Prefect version, idle timeout (written by the starter)
    server.lock    flock held while a server is checked, started or stopped
    server.log     the server's output; named in every start-up error
    prefect-home/  the server process's PREFECT_HOME

How the parts fit:

- **Liveness** is the pid in the state file *and* a health check (``GET /api/health``); the pid must
  still be our server module (``/proc/<pid>/cmdline``), so a recycled pid is never signalled. A state file
  whose process is gone, or whose server has not answered for :data:`BUSY_GRACE_SECONDS`, is stale: that
  server is stopped and replaced.
- **One server, even under a race**: checking and starting happen under an exclusive ``flock``; a
  second command arriving during a start waits on the lock, then finds the new server healthy.
- **Idle stop** is done by the server process itself (:mod:`drsyncer.local_server_process`), which sees
  every request; ``DRSYNCER_SERVER_IDLE_TIMEOUT`` seconds without one and it exits, removing its state file.
- **Refusals** are :class:`~drsyncer.errors.LocalServerError` with one line and a fix: the port is taken
  by another program, the server did not answer within ``DRSYNCER_PREFECT_STARTUP_TIMEOUT`` (with the
  log path), or the database was written by a newer Prefect (its migration is unknown here).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from importlib import metadata, util
from pathlib import Path

from drsyncer.errors import LocalServerError
from drsyncer.settings import Settings

SERVER_MODULE = "drsyncer.local_server_process"
"""The module the server process runs (``python -m``); also how we recognise our own pid."""

HOST = "127.0.0.1"
"""The local server listens on loopback only."""


@dataclass(frozen=True)
class ServerFiles:
    """Where the local server keeps its database, state, lock and log.

    Args:
        directory: The dr-syncer data directory (``DRSYNCER_DATA_DIR``).
    """

    directory: Path

    @property
    def database(self) -> Path:
        """The SQLite database of the server."""
        return self.directory / "prefect.db"

    @property
    def state(self) -> Path:
        """The state file naming the running server's pid and port."""
        return self.directory / "server.json"

    @property
    def lock(self) -> Path:
        """The lock file serialising start and stop."""
        return self.directory / "server.lock"

    @property
    def log(self) -> Path:
        """The server's log."""
        return self.directory / "server.log"

    @property
    def prefect_home(self) -> Path:
        """``PREFECT_HOME`` of the server process."""
        return self.directory / "prefect-home"


@dataclass(frozen=True)
class ServerState:
    """What the state file records about a started server."""

    pid: int
    port: int
    started_at: float
    prefect_version: str
    idle_timeout: int

    @property
    def ui_url(self) -> str:
        """The Prefect UI of this server."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Prefect API URL (what ``PREFECT_API_URL`` is set to)."""
        return f"{self.ui_url}/api"

    def flow_run_url(self, flow_run_id: str) -> str:
        """The UI page of one flow run."""
        return f"{self.ui_url}/runs/flow-run/{flow_run_id}"


def read_state(files: ServerFiles) -> ServerState | None:
    """The state file's content, or ``None`` when there is none or it is unreadable."""
    try:
        return ServerState(**json.loads(files.state.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(files: ServerFiles, state: ServerState) -> None:
    temporary = files.state.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state)))
    temporary.chmod(0o600)
    temporary.replace(files.state)


def is_healthy(api_url: str, *, timeout: float = 5.0) -> bool:
    """True when the Prefect API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def is_our_process(pid: int) -> bool:
    """True when ``pid`` is alive and runs :data:`SERVER_MODULE` (never a recycled pid or a zombie)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return SERVER_MODULE.encode() in command.split(b"\0")


def port_is_free(port: int) -> bool:
    """True when nothing listens on ``HOST:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def known_migrations() -> frozenset[str]:
    """Revision ids of the installed Prefect's SQLite migrations (read from file names, no import)."""
    spec = util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    versions = Path(next(iter(spec.submodule_search_locations))) / "server/database/_migrations/versions"
    return frozenset(
        parts[4] for path in (versions / "sqlite").glob("*.py") if len(parts := path.stem.split("_")) > 4
    )


def check_database(database: Path, *, known: frozenset[str]) -> None:
    """Refuse a database whose schema revision the installed Prefect does not know (a newer Prefect).

    Raises:
        LocalServerError: The database's ``alembic_version`` is not among ``known``.
    """
    if not database.exists() or not known:
        return
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return  # no schema yet: Prefect creates it
    unknown = sorted(row[0] for row in rows if row[0] not in known)
    if unknown:
        raise LocalServerError(
            f"the local Prefect database {database} was written by a newer Prefect (schema revision "
            f"{', '.join(unknown)} is unknown to the installed Prefect {metadata.version('prefect')})",
            fix="upgrade dr-syncer's Prefect, or set DRSYNCER_DATA_DIR to another directory (the runs in "
            "that database stay where they are)",
        )


@contextlib.contextmanager
def _locked(files: ServerFiles) -> Iterator[None]:
    """Hold the data directory's exclusive lock (blocks while another command starts or stops)."""
    with files.lock.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def running_server(files: ServerFiles) -> ServerState | None:
    """The server named by the state file if it is our process and answers; ``None`` otherwise."""
    state = read_state(files)
    if state is None or not is_our_process(state.pid):
        return None
    return state if is_healthy(state.api_url) else None


BUSY_GRACE_SECONDS = 15.0
"""How long a live server process that misses its health check gets before it is declared hung."""


def _answers_within(state: ServerState, *, seconds: float) -> bool:
    """True when the recorded server is our live process and answers a health check within ``seconds``."""
    deadline = time.monotonic() + seconds
    while is_our_process(state.pid) and time.monotonic() < deadline:
        if is_healthy(state.api_url, timeout=max(0.5, min(5.0, deadline - time.monotonic()))):
            return True
        time.sleep(0.5)
    return False


def ensure_server(settings: Settings, *, announce: Callable[[str], None]) -> ServerState:
    """Return the user's running local server, starting it (or replacing a stale one) when needed.

    Args:
        settings: Where the data directory is, the port, the idle and start-up timeouts.
        announce: Called with one line when a server was started (its UI URL and how it stops).

    Raises:
        LocalServerError: The port is taken, the database is from a newer Prefect, or the server did not
            start within the start-up timeout.
    """
    files = ServerFiles(settings.data_dir)
    files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    state = running_server(files)
    if state is not None:
        return state
    with _locked(files):
        state = running_server(files)
        if state is not None:
            return state
        recorded = read_state(files)
        if recorded is not None and _answers_within(recorded, seconds=BUSY_GRACE_SECONDS):
            return recorded  # alive but slow (e.g. a busy SQLite): never kill a working server
        _stop_recorded(files)
        state = _start(settings, files)
    announce(
        f"started dr-syncer's local Prefect server: UI {state.ui_url} (runs kept in {files.database}; "
        f"stops after {state.idle_timeout} s without requests, or with `drsyncer server stop`)"
    )
    return state


def _start(settings: Settings, files: ServerFiles) -> ServerState:
    port = settings.server_port
    if not port_is_free(port):
        raise LocalServerError(
            f"port {port} on {HOST} is taken by another program, so dr-syncer's local Prefect server "
            "cannot start",
            fix="set DRSYNCER_SERVER_PORT to a free port, or PREFECT_API_URL to the Prefect server on "
            f"port {port}",
        )
    check_database(files.database, known=known_migrations())
    files.prefect_home.mkdir(exist_ok=True, mode=0o700)
    with files.log.open("a") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting on {HOST}:{port}\n")
    pid = os.posix_spawn(
        sys.executable,
        [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--host",
            HOST,
            "--port",
            str(port),
            "--idle-timeout",
            str(settings.server_idle_timeout),
            "--state-file",
            str(files.state),
        ],
        server_environment(files, port=port),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(files.log), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    state = ServerState(
        pid=pid,
        port=port,
        started_at=time.time(),
        prefect_version=metadata.version("prefect"),
        idle_timeout=settings.server_idle_timeout,
    )
    _write_state(files, state)
    deadline = time.monotonic() + settings.prefect_startup_timeout
    while time.monotonic() < deadline:
        exited, status = os.waitpid(pid, os.WNOHANG)
        if exited:
            files.state.unlink(missing_ok=True)
            raise LocalServerError(
                f"dr-syncer's local Prefect server exited during start-up (exit status "
                f"{os.waitstatus_to_exitcode(status)}); see {files.log}",
                fix="read the end of that log; `drsyncer server start` retries",
            )
        if is_healthy(state.api_url, timeout=1.0):
            return state
        time.sleep(0.25)
    _terminate(pid)
    files.state.unlink(missing_ok=True)
    raise LocalServerError(
        f"dr-syncer's local Prefect server did not answer within {settings.prefect_startup_timeout} s; "
        f"see {files.log}",
        fix="raise DRSYNCER_PREFECT_STARTUP_TIMEOUT on a slow or busy machine",
    )


def server_environment(files: ServerFiles, *, port: int) -> dict[str, str]:
    """The server process's environment: ours, with Prefect pointed at the per-user database."""
    environment = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    environment.update(
        {
            "PREFECT_HOME": str(files.prefect_home),
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{files.database}",
            "PREFECT_SERVER_API_HOST": HOST,
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_UI_API_URL": f"http://{HOST}:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
    )
    return environment


def _terminate(pid: int, *, grace: float = 10.0) -> None:
    """SIGTERM our server process, SIGKILL it after ``grace`` seconds; reap it if it is our child."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not is_our_process(pid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and is_our_process(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stop_recorded(files: ServerFiles) -> ServerState | None:
    """Stop the server the state file names (if it is still ours) and remove the state file."""
    state = read_state(files)
    if state is not None:
        _terminate(state.pid)
    files.state.unlink(missing_ok=True)
    return state


def stop_server(settings: Settings) -> ServerState | None:
    """Stop the user's local server; return what was recorded about it (``None`` if nothing was)."""
    files = ServerFiles(settings.data_dir)
    if not files.directory.exists():
        return None
    with _locked(files):
        state = read_state(files)
        if state is None or not is_our_process(state.pid):
            files.state.unlink(missing_ok=True)
            return None
        return _stop_recorded(files)


def configured_api_url() -> str | None:
    """The Prefect API the user configured: ``PREFECT_API_URL``, the active Prefect profile's, or the
    one a Prefect already imported in this process uses (e.g. a test harness); ``None`` otherwise.

    Reading the profile file directly keeps Prefect unimported here.
    """
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        url = get_current_settings().api.url
        return str(url) if url else None
    return profile_api_url(os.environ)


def profile_api_url(environ: Mapping[str, str]) -> str | None:
    """``PREFECT_API_URL`` of the active Prefect profile (``PREFECT_PROFILE``, else the file's ``active``)
    in ``PREFECT_PROFILES_PATH`` (default ``$PREFECT_HOME/profiles.toml``); ``None`` when it has none."""
    import tomllib

    home = Path(environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    path = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return None
    active = environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    value = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(value) if value else None


def use_local_server(settings: Settings, *, announce: Callable[[str], None]) -> ServerState | None:
    """Point ``PREFECT_API_URL`` at the local server (starting it) unless the user chose another API.

    Returns ``None`` (and changes nothing) when a Prefect API is configured or ``DRSYNCER_PREFECT`` is
    ``ephemeral``.

    Raises:
        LocalServerError: See :func:`ensure_server`.
    """
    if settings.prefect == "ephemeral" or configured_api_url() is not None:
        return None
    state = ensure_server(settings, announce=announce)
    os.environ["PREFECT_API_URL"] = state.api_url
    return state


def exit_if_server_stops(settings: Settings, *, announce: Callable[[str], None]) -> None:
    """If this process uses the local server, exit it with one clear line as soon as the server dies.

    For commands that run a flow in their own process (``drsyncer sync``). Without this, a command
    whose server was killed mid-run retries every Prefect API call with backoff (about a minute each)
    and then drains its queued events one connection timeout at a time: minutes of silence before the
    same failure. Not for commands with children to clean up (``serve``, ``demo``).
    """
    state = read_state(ServerFiles(settings.data_dir))
    if state is None or os.environ.get("PREFECT_API_URL") != state.api_url:
        return
    watch_server(state, on_lost=lambda: _give_up(state, announce=announce))


def watch_server(state: ServerState, *, on_lost: Callable[[], None], interval: float = 1.0) -> None:
    """Call ``on_lost`` (from a daemon thread) as soon as the server's process is gone."""

    def watch() -> None:
        while is_our_process(state.pid):
            time.sleep(interval)
        on_lost()

    threading.Thread(target=watch, name="local-prefect-server-watch", daemon=True).start()


def _give_up(state: ServerState, *, announce: Callable[[str], None]) -> None:
    announce(
        f"error: {LOST_API}: dr-syncer's local Prefect server (pid {state.pid}, {state.ui_url}) stopped "
        "during the command, so Prefect cannot record this run (objects already applied stay applied); "
        "run the command again: it starts a new server, and the history is kept"
    )
    exit_without_draining(1)


LOST_API = "lost the Prefect API"
"""How a run that lost its Prefect server mid-way is reported (the start of the error message)."""


def lost_api_message(error: BaseException) -> str:
    """One line for a run whose Prefect server stopped answering (e.g. it was killed mid-run)."""
    url = os.environ.get("PREFECT_API_URL", "(unset)")
    return (
        f"{LOST_API} at {url} during the run ({error}): Prefect did not record how it ended; objects "
        "already applied stay applied. Run the command again (it restarts dr-syncer's local Prefect "
        "server when that was the one)."
    )


def exit_without_draining(code: int) -> None:
    """Exit now, skipping Prefect's at-exit drain of run events.

    With the server gone every queued event waits for a connection timeout (about 7 s each, minutes in
    all) before it is dropped; they cannot be delivered anyway.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
