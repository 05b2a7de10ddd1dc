"""Turning pydantic validation errors into the one-line problems users read.

Each problem names the field path as written in YAML (camelCase, ``[i]`` for list items), says what is
wrong and what is expected, with the accepted values or an example. Unknown fields list the fields that
are allowed there and suggest the closest one (``shedule`` → ``schedule``).
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from drsyncer.config.sources import format_path

_TYPE_EXPECTATIONS = {
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number (e.g. 5)",
    "int_parsing": "expected a whole number (e.g. 5)",
    "int_from_float": "expected a whole number (e.g. 5)",
    "string_type": 'expected a string (quote values like "1.0" or "true")',
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of fields (key: value)",
    "model_attributes_type": "expected a mapping of fields (key: value)",
    "list_type": "expected a list (- item)",
    "path_type": "expected a file path",
}


def describe_error(error: ErrorDetails, model: type[BaseModel]) -> str:
    """``field.path: what is wrong; expected ...`` for one pydantic error on a ``model`` document."""
    loc = tuple(error["loc"])
    path = format_path(loc) or "(document)"
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"{path}: unknown field {loc[-1]!r}; {_allowed_fields(model, loc[:-1], str(loc[-1]))}"
    if kind == "missing":
        description = _field_description(model, loc)
        hint = f" ({description.rstrip('.')})" if description else ""
        return f"{path}: required field is missing; expected a value{hint}"
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{path}: {given!r} is not accepted; expected one of {expected} (case-sensitive)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{path}: {given!r} is not accepted; expected {expected}"
    if kind in _TYPE_EXPECTATIONS:
        return f"{path}: got {_show(given)}; {_TYPE_EXPECTATIONS[kind]}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = error.get("ctx", {})
        limits = {
            "greater_than_equal": f">= {bound.get('ge')}",
            "less_than_equal": f"<= {bound.get('le')}",
            "greater_than": f"> {bound.get('gt')}",
            "less_than": f"< {bound.get('lt')}",
        }
        return f"{path}: {given!r} is out of range; expected a number {limits[kind]}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{value!r} ({type(value).__name__})"


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...], unknown: str) -> str:
    target = _model_at(model, loc)
    if target is None:
        return "this field is not allowed here"
    names = [info.alias or name for name, info in target.model_fields.items()]
    close = difflib.get_close_matches(unknown, names, n=1, cutoff=0.6)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return f"{suggestion}expected one of: {', '.join(names)}"


def _field_description(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    target = _model_at(model, loc[:-1])
    if target is None:
        return ""
    for name, info in target.model_fields.items():
        if loc[-1] in (name, info.alias):
            return info.description or ""
    return ""


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the object at ``loc`` (``None`` if not a model)."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation, part)
        if annotation is None:
            return None
    annotation = strip_optional(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def strip_optional(annotation: Any) -> Any:
    """Remove Annotated and Optional wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _unwrap(annotation: Any, part: Any) -> Any:
    annotation = strip_optional(annotation)
    origin = get_origin(annotation)
    if origin in (list, tuple) and isinstance(part, int):
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
    return None
