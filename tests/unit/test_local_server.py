"""The local Prefect server's rules that need no server: when it is used, idleness, database refusal.

The server's life (start, reuse, idle stop, crash recovery, races) is in ``tests/e2e/test_local_server.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from drsyncer.errors import LocalServerError
from drsyncer.local_server import (
    ServerState,
    check_database,
    known_migrations,
    profile_api_url,
    use_local_server,
    watch_server,
)
from drsyncer.local_server_process import IdleTracker, idle_check_interval
from drsyncer.settings import Settings

Scope = MutableMapping[str, Any]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _receive() -> Scope:
    return {"type": "http.disconnect"}


async def _send(message: Scope) -> None:
    """Responses go nowhere."""


def _app(entered: asyncio.Event, release: asyncio.Event) -> Callable[[Scope, Any, Any], Awaitable[None]]:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        entered.set()
        await release.wait()

    return app


def test_idle_time_counts_from_the_end_of_the_last_request_and_is_zero_while_one_runs() -> None:
    clock = Clock()

    async def scenario() -> list[float]:
        entered, release = asyncio.Event(), asyncio.Event()
        tracker = IdleTracker(_app(entered, release), clock=clock)
        seen = []
        clock.now += 50
        seen.append(tracker.idle_for())
        request = asyncio.create_task(tracker({"type": "http"}, _receive, _send))
        await entered.wait()
        clock.now += 500
        seen.append(tracker.idle_for())
        release.set()
        await request
        clock.now += 7
        seen.append(tracker.idle_for())
        return seen

    assert asyncio.run(scenario()) == [50.0, 0.0, 7.0]


def test_lifespan_events_are_not_activity() -> None:
    clock = Clock()

    async def scenario() -> float:
        entered, release = asyncio.Event(), asyncio.Event()
        release.set()
        tracker = IdleTracker(_app(entered, release), clock=clock)
        clock.now += 30
        await tracker({"type": "lifespan"}, _receive, _send)
        return tracker.idle_for()

    assert asyncio.run(scenario()) == 30.0


@pytest.mark.parametrize(("timeout", "interval"), [(3600, 30.0), (60, 6.0), (1, 0.5)])
def test_the_idle_watcher_looks_often_enough_for_the_timeout(timeout: float, interval: float) -> None:
    assert idle_check_interval(timeout) == interval


def _database(path: Path, revision: str) -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    return path


def test_a_database_at_a_known_prefect_revision_is_accepted(tmp_path: Path) -> None:
    known = known_migrations()
    assert len(known) > 50, "the installed Prefect's SQLite migrations are found without importing it"

    check_database(_database(tmp_path / "prefect.db", sorted(known)[0]), known=known)


def test_a_database_from_a_newer_prefect_is_refused_with_the_fix(tmp_path: Path) -> None:
    database = _database(tmp_path / "prefect.db", "0123456789ab")

    with pytest.raises(LocalServerError) as raised:
        check_database(database, known=known_migrations())

    assert str(database) in raised.value.message
    assert "newer Prefect" in raised.value.message
    assert "DRSYNCER_DATA_DIR" in raised.value.fix


def test_an_empty_or_missing_database_is_left_to_prefect(tmp_path: Path) -> None:
    check_database(tmp_path / "missing.db", known=known_migrations())
    sqlite3.connect(tmp_path / "empty.db").close()
    check_database(tmp_path / "empty.db", known=known_migrations())


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", server_port=1, **values)


def test_ephemeral_mode_keeps_prefects_temporary_server_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)

    state = use_local_server(_settings(tmp_path, prefect="ephemeral"), announce=print)

    assert state is None
    assert not (tmp_path / "data").exists()


def test_a_configured_prefect_api_url_wins_over_the_local_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")

    state = use_local_server(_settings(tmp_path, prefect="local"), announce=print)

    assert state is None
    assert not (tmp_path / "data").exists()


def test_the_data_dir_follows_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRSYNCER_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    assert Settings().data_dir == tmp_path / "xdg" / "dr-syncer"


@pytest.mark.parametrize(
    ("chosen", "expected"), [(None, "http://prefect.example:4200/api"), ("ephemeral", None)]
)
def test_the_api_url_of_the_active_prefect_profile_counts_as_configured(
    tmp_path: Path, chosen: str | None, expected: str | None
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        'active = "work"\n[profiles.work]\nPREFECT_API_URL = "http://prefect.example:4200/api"\n'
        "[profiles.ephemeral]\n"
    )
    environ = {"PREFECT_PROFILES_PATH": str(profiles)} | ({"PREFECT_PROFILE": chosen} if chosen else {})

    assert profile_api_url(environ) == expected


def test_the_watch_reports_a_server_whose_process_is_gone() -> None:
    gone = threading.Event()
    dead_pid = 2**22 + 17  # above the kernel's pid_max default (4194304): never a live process

    watch_server(
        ServerState(pid=dead_pid, port=1, started_at=0.0, prefect_version="3", idle_timeout=60),
        on_lost=gone.set,
        interval=0.05,
    )

    assert gone.wait(timeout=10)
