"""Durations (middleware/config/durations.py) as every file and flag writes them."""

from __future__ import annotations

import pytest

from middleware.config.durations import format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("190d", 190 * 86400),
                                               ("1h30m", 5400), (45, 45), ("1500ms", 1.5)])
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "2 hours", "h2", True, -1, "5x", None])
def test_bad_durations_say_how_to_write_one(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_formatting_round_trips() -> None:
    for seconds in (90.0, 7200.0, 5400.0, 86400.0 * 3):
        assert parse_duration(format_duration(seconds)) == seconds
