"""The committed prefect.yaml is exactly what the builder renders, and holds no secret templates."""

from __future__ import annotations

from pathlib import Path

from deployments.prefect_yaml import render

REPOSITORY = Path(__file__).resolve().parents[3]


def test_committed_prefect_yaml_matches_the_builder() -> None:
    committed = (REPOSITORY / "prefect.yaml").read_text()
    assert committed == render(), "regenerate: python -m deployments.prefect_yaml > prefect.yaml"


def test_prefect_yaml_has_no_secret_block_templates() -> None:
    text = render()
    assert "prefect.blocks.secret" not in text
    assert "{{" not in text
