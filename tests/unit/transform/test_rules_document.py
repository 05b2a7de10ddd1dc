"""docs/rules.md is generated from the rules' docstrings and must be up to date."""

from __future__ import annotations

from pathlib import Path

from tasks.filter.rules import CHECKS
from tasks.transform.catalogue import RULES
from tasks.transform.docs import render

DOC = Path(__file__).resolve().parents[3] / "docs" / "rules.md"


def test_rules_document_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/rules.md is stale: run `python -m tasks.transform.docs > docs/rules.md`"
    )


def test_rules_document_names_every_rule_and_check() -> None:
    text = render()
    for rule in RULES:
        assert f"`{rule.name}`" in text
    for check in CHECKS:
        assert f"`{check.__name__}`" in text
