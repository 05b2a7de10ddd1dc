"""The browser tier: a Prefect server that serves its UI, and headless Chromium to look at it.

``prefect_test_harness`` (the session's ``prefect_server``) starts its API with ``PREFECT_UI_ENABLED=0``,
so this tier starts a real ``prefect server start`` subprocess of its own (SQLite in a temp dir, UI on,
``PREFECT_UI_API_URL`` pointing the page at this server), once per session, stopped by PID.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser.chromium import Page, chromium

PREFECT = str(Path(sys.executable).parent / "prefect")


@dataclass(frozen=True)
class PrefectUi:
    """A Prefect server with its UI: where the page lives and where the API is."""

    url: str
    home: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def env(self) -> dict[str, str]:
        """Environment for a dr-syncer subprocess that runs against this server and logs to it."""
        env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
        env.update(
            PREFECT_API_URL=self.api,
            PREFECT_HOME=str(self.home),
            PREFECT_LOGGING_TO_API_ENABLED="true",
        )
        for name in ("DRSYNCER_LOG_LEVEL", "DRSYNCER_RUN_LOG_LEVEL"):
            env.pop(name, None)
        return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="package")
def prefect_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectUi]:
    """``prefect server start`` with the UI, on a free port; yields where it is; stopped by PID."""
    home = tmp_path_factory.mktemp("prefect-ui-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL="",
        PREFECT_UI_ENABLED="true",
        PREFECT_UI_API_URL=f"{url}/api",
        PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.3)
        yield PrefectUi(url=url, home=home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """One headless Chromium page for the session."""
    with chromium(tmp_path_factory.mktemp("chromium") / "profile") as page:
        yield page
