"""CI's skip rule (tests/skip_policy.py): which tiers are required and which skips fail the run."""

from __future__ import annotations

import pytest

from tests import skip_policy


def test_required_tiers_come_from_a_comma_separated_list() -> None:
    assert skip_policy.required_tiers(" unit, netns ,,") == {"unit", "netns"}
    assert skip_policy.required_tiers(None) == frozenset()


def test_the_tier_is_the_folder_under_tests() -> None:
    assert skip_policy.tier_of(str(skip_policy.TESTS_ROOT / "netns" / "test_link_cut.py")) == "netns"
    assert skip_policy.tier_of("tests/e2e/test_dr_operations.py") == "e2e"
    assert skip_policy.tier_of("/elsewhere/test_x.py") is None


def _skip_report(path: str) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=f"{path}::test_x",
        location=(path, 1, "test_x"),
        keywords={},
        outcome="skipped",
        longrepr=(path, 1, "Skipped: ip netns is not available"),
        when="setup",
    )


def test_only_a_skip_in_a_required_tier_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(skip_policy.REQUIRED_TIERS_VARIABLE, "netns")
    monkeypatch.setattr(skip_policy, "_skipped", [])
    required = _skip_report("tests/netns/test_link_cut.py")
    optional = _skip_report("tests/browser/test_ui.py")

    skip_policy.pytest_runtest_logreport(required)
    skip_policy.pytest_runtest_logreport(optional)

    assert len(skip_policy._skipped) == 1
    assert "ip netns is not available" in skip_policy._skipped[0]
