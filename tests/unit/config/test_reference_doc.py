"""docs/configuration.md documents every field and setting, and its generated tables are current."""

from __future__ import annotations

from pydantic import BaseModel

from drsyncer.config.crds import MODELS
from drsyncer.config.reference_doc import DOC, field_rows, render
from drsyncer.settings import Settings


def test_configuration_reference_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert render(text) == text, "regenerate with: python -m drsyncer.config.reference_doc"


def test_every_field_of_every_kind_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for model in MODELS.values():
        spec = model.model_fields["spec"].annotation
        assert isinstance(spec, type)
        assert issubclass(spec, BaseModel)
        for path, _, _, description in field_rows(spec, "spec"):
            assert f"| `{path}` |" in text
            assert description, f"{path} has no description"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert all(f"`DRSYNCER_{name.upper()}`" in text for name in Settings.model_fields)
