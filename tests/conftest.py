"""Test configuration shared by every tier.

Tiers are folders (``tests/unit``, ``tests/api``, ``tests/data``, ``tests/e2e``, ``tests/netns``,
``tests/sandbox``); each test gets the marker of its folder so ``pytest -m unit`` selects a tier.
Fixtures live in ``tests/fixtures/`` modules, loaded as plugins below.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Quiet, offline Prefect for every test process (set before Prefect is imported anywhere).
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS", "3")
# Never start or touch the user's local dr-syncer Prefect server: in-process runs use the session's
# harness; CLI subprocesses without PREFECT_API_URL keep Prefect's temporary server. The local server's
# own tests (tests/e2e/test_local_server.py) override this in their subprocesses' environment.
os.environ["DRSYNCER_PREFECT"] = "ephemeral"

pytest_plugins: list[str] = [
    "tests.fixtures.agents",
    "tests.fixtures.clusters",
    "tests.fixtures.prefect",
    "tests.fixtures.source_writes",
    "tests.skip_policy",
]

_TIERS = {"unit", "api", "data", "e2e", "netns", "sandbox", "browser", "scale"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with the tier named by its folder under ``tests/``."""
    root = Path(__file__).parent
    for item in items:
        try:
            tier = Path(item.fspath).relative_to(root).parts[0]
        except ValueError:
            continue
        if tier in _TIERS:
            item.add_marker(getattr(pytest.mark, "api" if tier == "sandbox" else tier))
    _deselect_opt_in_tiers(config, items)


_OPT_IN_TIERS: set[str] = set()
"""Tiers that run only when ``-m`` names them. None today: the scale tier (issue 14) runs in CI (~4–5 min
on a shared 2-core box)."""


def _deselect_opt_in_tiers(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out opt-in tiers unless the ``-m`` expression names them."""
    expression = config.option.markexpr or ""
    wanted = {tier for tier in _OPT_IN_TIERS if tier in expression}
    dropped = [item for item in items if any(item.get_closest_marker(t) for t in _OPT_IN_TIERS - wanted)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in set(dropped)]
