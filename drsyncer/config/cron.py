"""Cron schedules: the full 5-field syntax, checked field by field so a mistake gets a precise message.

A NamespaceMapping's ``schedule`` becomes the cron of its Prefect deployment (Prefect evaluates it with
croniter), so what we accept here must also be what croniter accepts: we check the syntax ourselves (to
say *which* field is wrong and why) and then ask croniter as the final word.

Accepted per field: ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n`` or ``a/n``, lists of
those joined by ``,``; month and weekday names (``jan``, ``mon``, case-insensitive); weekday 0-7 (0 and 7
are Sunday). Also the macros ``@yearly @annually @monthly @weekly @daily @midnight @hourly``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from croniter import croniter

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)

_EXAMPLE = "e.g. '*/5 * * * *', '0 2 * * 1-5' or '0,30 8-18 * * mon-fri'"


def cron_problem(expression: str) -> str | None:
    """Return why ``expression`` is not a valid cron schedule, or ``None`` when it is valid."""
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() in MACROS:
            return None
        return f"unknown cron macro {text!r}; expected one of {', '.join(MACROS)}"
    parts = text.split()
    if len(parts) != 5:
        return (
            f"cron schedule {expression!r} has {len(parts)} field(s); expected 5 fields "
            f"(minute hour day-of-month month day-of-week), {_EXAMPLE}"
        )
    for part, field in zip(parts, _FIELDS, strict=True):
        problem = _field_problem(part, field)
        if problem is not None:
            return f"cron schedule {expression!r}: {problem}; {_EXAMPLE}"
    if not croniter.is_valid(text):
        return f"cron schedule {expression!r} is not accepted by the scheduler; {_EXAMPLE}"
    return None


def _field_problem(part: str, field: _Field) -> str | None:
    for item in part.split(","):
        if not item:
            return f"{field.name} field {part!r} has an empty list entry"
        base, _, step = item.partition("/")
        if "/" in item and (not step.isdigit() or int(step) == 0):
            return f"{field.name} field {item!r} has step {step!r}; expected a positive whole number"
        if base == "*":
            continue
        bounds = base.split("-")
        if len(bounds) > 2:
            return f"{field.name} field {item!r} is not a value or a range a-b"
        values: list[int] = []
        for bound in bounds:
            value = _value(bound, field)
            if value is None:
                accepted = f"{field.low}-{field.high}"
                if field.names:
                    accepted += f" or a name ({', '.join(field.names)})"
                return f"{field.name} field has {bound!r}; expected a number {accepted}"
            if not field.low <= value <= field.high:
                return f"{field.name} field value {value} is out of range; expected {field.low}-{field.high}"
            values.append(value)
        if len(values) == 2 and values[0] > values[1]:
            return f"{field.name} field range {base!r} runs backwards; expected start <= end"
    return None


def _value(text: str, field: _Field) -> int | None:
    if re.fullmatch(r"\d+", text):
        return int(text)
    lowered = text.lower()
    if lowered in field.names:
        return field.names.index(lowered) + field.names_start
    return None
