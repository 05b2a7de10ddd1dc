"""The field tables of ``docs/configuration.md``, generated from the config models.

Every field's path, type, default and description come from the same pydantic models the loader uses,
so the reference cannot drift. The prose around the tables is hand-written; the tables sit between
``<!-- fields:Kind -->`` and ``<!-- /fields:Kind -->`` markers. Regenerate with
``python -m drsyncer.config.reference_doc`` (a unit test checks the file is current).
"""

from __future__ import annotations

import re
import sys
import types
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from drsyncer.config.crds import MODELS
from drsyncer.config.durations import Duration
from drsyncer.config.problems import strip_optional
from drsyncer.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def field_rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(path, type, default, description)`` for every field of ``model``, nested fields included."""
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{info.alias or name}" if prefix else (info.alias or name)
        rows.append(
            (path, _type_name(info.annotation), _default(info), (info.description or "").replace("|", "\\|"))
        )
        nested = _nested_model(info.annotation)
        if nested is not None:
            suffix = "[]" if get_origin(strip_optional(info.annotation)) is list else ""
            rows.extend(field_rows(nested, path + suffix))
    return rows


def table(rows: list[tuple[str, str, str, str]]) -> str:
    """A markdown table of field rows."""
    lines = ["| Field | Type | Default | Meaning |", "|---|---|---|---|"]
    lines += [f"| `{path}` | {kind} | {default} | {text} |" for path, kind, default, text in rows]
    return "\n".join(lines)


def settings_table() -> str:
    """The DRSYNCER_* settings as a markdown table."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = "—" if info.default in (None, PydanticUndefined) else f"`{info.default}`"
        lines.append(f"| `DRSYNCER_{name.upper()}` | {default} | {info.description} |")
    return "\n".join(lines)


def render(text: str) -> str:
    """``text`` with every marked table regenerated."""
    for kind, model in MODELS.items():
        spec = _nested_model(model.model_fields["spec"].annotation)
        if spec is None:  # pragma: no cover - every kind has a spec model
            continue
        text = _replace(text, f"fields:{kind}", table(field_rows(spec, "spec")))
    return _replace(text, "settings", settings_table())


def _replace(text: str, marker: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {marker} -->\n)(?:.*?\n)?(<!-- /{marker} -->)", re.S)
    return pattern.sub(lambda match: match.group(1) + body + "\n" + match.group(2), text)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    annotation = strip_optional(annotation)
    if get_origin(annotation) is list:
        annotation = strip_optional(get_args(annotation)[0])
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _type_name(annotation: Any) -> str:
    annotation = strip_optional(annotation)
    origin = get_origin(annotation)
    if origin is list:
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        return f"map to {_type_name(get_args(annotation)[1])}"
    if origin is Literal:
        return " \\| ".join(str(arg) for arg in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in get_args(annotation) if arg is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(str(member.value) for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        Path: "path",
        Duration: "duration",
    }
    return names.get(annotation, "any") if isinstance(annotation, type) else "any"


def _default(info: Any) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
        return "`[]`" if value == [] else "`{}`" if value == {} else "defaults"
    if info.default is PydanticUndefined:
        return "**required**"
    if info.default is None:
        return "—"
    value = info.default
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC
    target.write_text(render(target.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
