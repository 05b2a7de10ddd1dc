"""Field paths: how the rule layer names a place inside a Kubernetes object.

Transformation rules (``tasks.transform``) say *which* field they edit and the planner (``tasks.plan``)
says which field differs between the desired and the live object; both speak in ``FieldPath`` tuples
(``("spec", "template", "spec", "containers", 0, "image")``) and print them with ``format_path``
(``spec.template.spec.containers[0].image``, ``metadata.labels["app.kubernetes.io/name"]``).
"""

from __future__ import annotations

import re
from typing import Any, Final

FieldPath = tuple[str | int, ...]
"""A place in an object: map keys (str) and list indexes (int), outermost first."""


class _Missing:
    """The type of ``MISSING``: a field that is not there (``None`` is a real JSON value)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
"""Returned by ``lookup`` for a field that does not exist."""

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(path: FieldPath) -> str:
    """Render a path for people: dotted keys, ``[n]`` indexes, quoted keys that hold dots or slashes."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def lookup(obj: Any, path: FieldPath) -> Any:
    """Return the value at ``path`` in ``obj``, or ``MISSING`` when any step does not exist."""
    current = obj
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or not -len(current) <= part < len(current):
                return MISSING
            current = current[part]
        else:
            if not isinstance(current, dict) or part not in current:
                return MISSING
            current = current[part]
    return current
