"""Prefect's production stack for the scale tier: ``prefect server start`` on PostgreSQL, and process workers.

Each component is a subprocess we started, logging to its own file (so the tier can read every log for
database errors), stopped by PID with its children. The server runs the services production needs
(scheduler, late runs, cancellation, events); its scheduler loop is shortened to 10 s (default 60 s) so
that runs of freshly registered one-minute schedules exist before their first tick.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from drsyncer.sandbox.agents import free_port
from tests.scale.postgres import Postgres

PREFECT = str(Path(sys.executable).parent / "prefect")
POOL_SIZE = 10
"""``PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE`` the tier runs (and docs/operations.md recommends)."""
MAX_OVERFLOW = 10
"""``PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW``."""
DATABASE_ERRORS = (
    "database is locked",
    "OperationalError",
    "DBAPIError",
    "InterfaceError",
    "asyncpg.exceptions",
    "TooManyConnectionsError",
    "QueuePool limit",
    "deadlock detected",
    "IntegrityError",
    "sqlalchemy.exc",
)
"""What a database problem looks like in the server's or a worker's log."""


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from ``/proc``), children first."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def peak_rss_bytes(pid: int) -> int | None:
    """``VmHWM`` of a live process (its peak resident set so far), ``None`` once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def stop_process_tree(
    process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, grace: float = 30, children: bool = True
) -> None:
    """Signal ``process``, wait for it, then (``children``) kill what is left of its children, by PID."""
    descendants = children_of(process.pid) if children else []
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    for child in descendants:
        with suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


@dataclass
class PrefectServer:
    """``prefect server start`` on PostgreSQL: its API URL, home and log."""

    process: subprocess.Popen[bytes]
    api_url: str
    home: Path
    log: Path

    def client_env(self) -> dict[str, str]:
        """Environment for a Prefect client process of this server."""
        env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
        env.update(PREFECT_API_URL=self.api_url, PREFECT_HOME=str(self.home))
        return env


@contextmanager
def prefect_server_on(postgres: Postgres, home: Path) -> Iterator[PrefectServer]:
    """Start the server on ``postgres`` (it migrates the empty database), wait for health; stop by PID."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=postgres.connection_url,
        PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE=str(POOL_SIZE),
        PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW=str(MAX_OVERFLOW),
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="10",
        # Runs scheduled ahead per deployment: 10 minutes' worth (default: at least an hour, up to 100 runs;
        # for 18 one-minute schedules that is ~1,100 rows inserted at registration and re-read by every
        # filter on the runs).
        PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME="PT10M",
        PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS="10",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_SERVER_LEVEL="WARNING",
        DO_NOT_TRACK="1",
    )
    log = home / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = PrefectServer(process=process, api_url=f"http://127.0.0.1:{port}/api", home=home, log=log)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server on PostgreSQL did not start; see {log}")
            time.sleep(0.3)
        yield server
    finally:
        stop_process_tree(process)


@dataclass
class Worker:
    """One ``prefect worker start --type process`` subprocess and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, *, sig: int = signal.SIGTERM, children: bool = True) -> None:
        """Stop the worker by PID; with ``children``, also kill whatever it started that is still running."""
        stop_process_tree(self.process, sig=sig, children=children)


def start_worker(server: PrefectServer, *, pool: str, name: str, env: dict[str, str], logs: Path) -> Worker:
    """A process worker polling ``pool`` every 2 s (default 10 s); its flow runs inherit ``env``."""
    worker_env = server.client_env()
    worker_env.update(env)
    worker_env.update(PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_LOGGING_TO_API_ENABLED="true")
    log = logs / f"{name}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", pool, "--type", "process", "--name", name],
            env=worker_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=logs,
        )
    return Worker(name=name, process=process, log=log)


def wait_for_workers(server: PrefectServer, pool: str, names: set[str], *, timeout: float = 120) -> None:
    """Poll the API until every named worker of ``pool`` has sent a heartbeat."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.post(f"{server.api_url}/work_pools/{pool}/workers/filter", json={}, timeout=10)
        if response.status_code == 200 and names <= {worker["name"] for worker in response.json()}:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers {sorted(names)} did not come online in pool {pool}")
        time.sleep(0.5)


@dataclass
class RssSampler:
    """Samples ``VmHWM`` of the workers and every process they start, keeping each PID's peak."""

    roots: list[int]
    interval: float = 0.2
    peaks: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        """Record the peak of every root and descendant now."""
        for root in self.roots:
            for pid in [root, *children_of(root)]:
                peak = peak_rss_bytes(pid)
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
