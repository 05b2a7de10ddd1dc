"""The scale tier: dr-syncer on Prefect's production stack, from Debian and PyPI packages.

Once per session (the tier's tests share it): a real PostgreSQL 15 server (its own cluster in a temp
dir), ``prefect server start`` on it, a process work pool ``scale`` with two ``prefect worker start``
processes, and sandbox source (4 nodes) and DR (2 nodes) clusters with real sshd + rsync agents.
Everything is stopped by PID at the end. The figures the tier measures are printed in pytest's terminal
summary (and written to ``scale-figures.json`` in the tier's temp dir).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.scale import postgres as postgres_module
from tests.scale.postgres import Postgres, running_postgres
from tests.scale.prefect_stack import (
    PREFECT,
    PrefectServer,
    Worker,
    prefect_server_on,
    start_worker,
    wait_for_workers,
)
from tests.scale.world import ScaleWorld, start_world

if TYPE_CHECKING:
    from tests.scale.victim import Victim

POOL = "scale"
PVC_CONCURRENCY = 2
"""``DRSYNCER_PVC_CONCURRENCY`` of the workers: rsync slots per DR cluster."""

FIGURES: dict[str, Any] = {}
"""Measured figures, filled by the tests, printed at the end of the session."""


@dataclass
class ScaleStack:
    """The running stack: database, server, pool workers and clusters."""

    postgres: Postgres
    server: PrefectServer
    workers: list[Worker]
    world: ScaleWorld
    logs: Path
    other_workers: list[Worker] = field(default_factory=list)
    """Workers of other pools (the worker-stop check's victim): logs checked, stopped at teardown."""

    def worker_env(self) -> dict[str, str]:
        """What the workers' flow runs need beyond Prefect's own settings."""
        return {
            "DRSYNCER_KEY_DIR": str(self.world.key_dir),
            "DRSYNCER_PVC_CONCURRENCY": str(PVC_CONCURRENCY),
            "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
        }

    def run_cli(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a CLI (``drsyncer`` or ``prefect``) against the stack's server, in the workers' environment
        (``drsyncer deploy`` sizes the rsync limits from it); fail on a non-zero exit."""
        result = subprocess.run(
            list(argv),
            env={**self.server.client_env(), **self.worker_env()},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"{argv} exited {result.returncode}: {result.stderr[-2000:]}"
        return result

    def logs_to_check(self) -> list[Path]:
        """The server's and every worker's log."""
        return [self.server.log, *(worker.log for worker in (*self.workers, *self.other_workers))]


@pytest.fixture(scope="session")
def scale_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleStack]:
    """PostgreSQL, a Prefect server on it, pool ``scale`` with two process workers, and the clusters."""
    reason = postgres_module.available()
    if reason is not None:
        pytest.skip(reason)
    logs = tmp_path_factory.mktemp("scale-logs")
    home = tmp_path_factory.mktemp("scale-prefect-home")
    world = start_world(tmp_path_factory.mktemp("scale-world"))
    workers: list[Worker] = []
    try:
        with running_postgres() as database, prefect_server_on(database, home) as server:
            stack = ScaleStack(postgres=database, server=server, workers=workers, world=world, logs=logs)
            stack.run_cli(PREFECT, "work-pool", "create", POOL, "--type", "process")
            for number in (1, 2):
                workers.append(
                    start_worker(
                        server, pool=POOL, name=f"worker-{number}", env=stack.worker_env(), logs=logs
                    )
                )
            wait_for_workers(server, POOL, {worker.name for worker in workers})
            try:
                yield stack
            finally:
                for worker in (*workers, *stack.other_workers):
                    worker.stop()
    finally:
        world.stop()
        FIGURES["logs"] = str(logs)
        (logs / "scale-figures.json").write_text(json.dumps(FIGURES, indent=2, default=str), encoding="utf-8")


@pytest.fixture(scope="session")
def victim(scale_stack: ScaleStack) -> Victim:
    """A run whose worker was stopped mid-run (before the soak, so that the 90 s until it is declared
    Crashed overlap the soak's ticks)."""
    from tests.scale.victim import stop_a_worker_mid_run

    return stop_a_worker_mid_run(scale_stack)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what the scale tier measured."""
    if not FIGURES:
        return
    terminalreporter.section("scale tier: measured figures")
    for key, value in FIGURES.items():
        terminalreporter.write_line(f"{key}: {value}")
