"""Cron schedules: full 5-field syntax accepted, mistakes named precisely."""

from __future__ import annotations

import pytest

from drsyncer.config.cron import cron_problem


@pytest.mark.parametrize(
    "expression",
    [
        "*/5 * * * *",
        "0 1-5 * * *",
        "0,30 * * * *",
        "*/15 8-18 * * mon-fri",
        "0 0 1 jan,jul *",
        "0 0 * * 7",
        "0 0 1-31/2 * *",
        "5/10 * * * *",
        "@hourly",
        "@daily",
    ],
)
def test_full_cron_syntax_is_accepted(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field value 61 is out of range; expected 0-59"),
        ("0 24 * * *", "hour field value 24 is out of range; expected 0-23"),
        ("0 0 0 * *", "day of month field value 0 is out of range; expected 1-31"),
        ("0 0 * 13 *", "month field value 13 is out of range; expected 1-12"),
        ("0 0 * * 8", "day of week field value 8 is out of range; expected 0-7"),
        ("0 0 * foo *", "month field has 'foo'; expected a number 1-12 or a name (jan,"),
        ("*/0 * * * *", "has step '0'; expected a positive whole number"),
        ("5-1 * * * *", "range '5-1' runs backwards"),
        ("* * * *", "has 4 field(s); expected 5 fields"),
        ("@often", "unknown cron macro"),
        ("1,,2 * * * *", "has an empty list entry"),
    ],
)
def test_bad_cron_names_the_field_and_the_rule(expression: str, message: str) -> None:
    problem = cron_problem(expression)

    assert problem is not None
    assert message in problem
