"""Durations as DR-Syncer writes them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drsyncer.config.durations import Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", timedelta(seconds=5)),
        ("1m30s", timedelta(minutes=1, seconds=30)),
        ("1h", timedelta(hours=1)),
        ("2h5m", timedelta(hours=2, minutes=5)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_durations_parse_and_keep_their_text(text: str, expected: timedelta) -> None:
    duration = Duration.parse(text)

    assert duration.timedelta == expected
    assert duration.text == text
    assert str(duration) == text


@pytest.mark.parametrize("text", ["", "5", "1d", "5 s", "s", "1s1m"])
def test_invalid_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected hours, minutes and seconds like 30s"):
        Duration.parse(text)
