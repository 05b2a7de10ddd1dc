"""Durations as DR-Syncer writes them (``5s``, ``1m30s``, ``1h``), parsed once at load time.

Config models use :data:`DurationField`; the rest of the pipeline reads ``.timedelta`` (retry backoffs,
background sync interval, timeouts) and shows ``.text`` (the user's spelling) in messages and reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

DURATION_PATTERN = r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"
"""The accepted spelling: hours, minutes, seconds, milliseconds, each optional, in that order."""

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$")


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time parsed from text like ``1m30s``; keeps the original text."""

    text: str
    timedelta: timedelta

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``text``; raise ``ValueError`` with the accepted forms when it is not a duration."""
        match = _DURATION.match(text.strip())
        if not text.strip() or match is None or not any(match.groupdict().values()):
            raise ValueError(
                f"{text!r} is not a duration; expected hours, minutes and seconds like 30s, 5m, 1m30s or 1h"
            )
        parts = {key: int(value) for key, value in match.groupdict().items() if value is not None}
        return cls(
            text=text.strip(),
            timedelta=timedelta(
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
                milliseconds=parts.get("ms", 0),
            ),
        )

    @property
    def seconds(self) -> float:
        """The duration in seconds."""
        return self.timedelta.total_seconds()

    def __str__(self) -> str:
        return self.text

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            if not isinstance(value, str):
                raise ValueError(
                    f"{value!r} is not a duration string; expected text like 30s, 5m, 1m30s or 1h "
                    "(a bare number has no unit)"
                )
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda value: value.text),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": DURATION_PATTERN}


DurationField = Annotated[Duration, "duration"]
"""A config field holding a :class:`Duration`."""
