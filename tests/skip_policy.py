"""CI's rule on skips: a test of a required tier that skips fails the run.

Locally a tier whose tools are missing (sshd, rsync, ``ip netns``, kubectl, chromium) skips with the
reason, so a laptop can run what it can. CI installs everything (``.ci/run``) and sets
``DRSYNCER_REQUIRED_TIERS`` (comma-separated tier folders, e.g. ``unit,api,sandbox,data,e2e,netns``); a skip
there means a test silently did not run, so the session fails, listing each skipped test and its reason.
Loaded as a plugin from ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS_ROOT = Path(__file__).parent
REQUIRED_TIERS_VARIABLE = "DRSYNCER_REQUIRED_TIERS"


def required_tiers(value: str | None) -> frozenset[str]:
    """The tiers named in ``DRSYNCER_REQUIRED_TIERS`` (empty when unset)."""
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


def tier_of(path: str) -> str | None:
    """The tier folder of a test file: ``path`` as in a node id (``tests/<tier>/...``, relative to the
    repository) or absolute; ``None`` outside ``tests/``."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            parts = candidate.resolve().relative_to(TESTS_ROOT.resolve()).parts
        except ValueError:
            return None
        return parts[0] if parts else None
    parts = candidate.parts
    return parts[1] if len(parts) > 1 and parts[0] == TESTS_ROOT.name else None


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember each skip of a required tier's test (setup or call phase)."""
    if not report.skipped or getattr(report, "wasxfail", None) is not None:
        return
    tiers = required_tiers(os.environ.get(REQUIRED_TIERS_VARIABLE))
    if tier_of(report.nodeid.split("::", 1)[0]) in tiers:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session when a required tier's test skipped."""
    if _skipped and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name every skipped test of a required tier, and the fix."""
    if not _skipped:
        return
    tiers = ", ".join(sorted(required_tiers(os.environ.get(REQUIRED_TIERS_VARIABLE))))
    terminalreporter.section(f"skips in required tiers ({tiers}): the run fails", red=True)
    for line in _skipped:
        terminalreporter.write_line(line)
    terminalreporter.write_line(
        "install what the reason names (./scripts/ensure-system-packages.sh --strict as root), "
        f"or leave the tier out of {REQUIRED_TIERS_VARIABLE}"
    )
