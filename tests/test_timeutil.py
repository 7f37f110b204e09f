from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamvault.errors import BadTime
from streamvault.timeutil import (
    format_iso,
    hour_name,
    hours_between,
    parse,
    parse_hour,
    parse_utc_only,
)

WHEN = datetime(2026, 11, 28, 4, 5, 6, 789000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T04:05:06.789",
        "2026-11-28T04:05:06.789Z",
        "2026-11-28T04:05:06.789000Z",
        "2026-11-28T04:05:06.789000001Z",  # Twitch writes up to nine digits
        "2026-11-28T05:05:06.789+01:00",
        "2026-11-27T23:05:06.789-05:00",
        "20261128T040506.789Z",
    ],
)
def test_parse_any_zone_to_utc(text: str) -> None:
    assert parse(text) == WHEN


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T04:05:06.789",
        "2026-11-28T04:05:06.789Z",
        "2026-11-28T04:05:06.789999999Z"[:23] + "Z",
        "2026-11-28T04:05:06.789+00:00",
    ],
)
def test_parse_utc_only_accepts_utc(text: str) -> None:
    assert parse_utc_only(text) == WHEN


def test_parse_utc_only_keeps_microseconds_of_long_fractions() -> None:
    assert parse_utc_only("2026-11-28T16:39:31.928999994Z").microsecond == 928999
    assert parse_utc_only("2026-11-28T04:05:06") == WHEN.replace(microsecond=0)


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T05:05:06.789+01:00", "yesterday", "", "2026-13-28T04:05:06", "2026-11-28T25:00"],
)
def test_parse_utc_only_refuses_the_rest(text: str) -> None:
    with pytest.raises(BadTime):
        parse_utc_only(text)


@pytest.mark.parametrize("text", ["", "not a time", "2026-02-30T00:00:00"])
def test_parse_refuses_garbage(text: str) -> None:
    with pytest.raises(BadTime):
        parse(text)


def test_bad_time_is_a_value_error_for_callers_that_map_to_400() -> None:
    assert issubclass(BadTime, ValueError)


def test_formatting_and_hours() -> None:
    assert format_iso(WHEN) == "2026-11-28T04:05:06.789000Z"
    assert hour_name(WHEN) == "2026-11-28T04"
    assert parse_hour("2026-11-28T04") == WHEN.replace(minute=0, second=0, microsecond=0)
    assert hours_between(WHEN, WHEN.replace(hour=6)) == [
        "2026-11-28T04",
        "2026-11-28T05",
        "2026-11-28T06",
    ]
    with pytest.raises(BadTime):
        parse_hour("2026-11-28T4")


def test_hours_within_keeps_the_existing_hours_of_any_range() -> None:
    from streamvault.timeutil import hours_within

    names = ["2026-11-28T05", "2026-11-28T04", "1999-01-01T00", "coverage-maps", "2026-11-29T00"]
    early, late = datetime(500, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
    assert hours_within(names, early, late) == [
        "1999-01-01T00", "2026-11-28T04", "2026-11-28T05", "2026-11-29T00"
    ]  # fmt: skip
    start = datetime(2026, 11, 28, 4, 59, tzinfo=UTC)
    assert hours_within(names, start, datetime(2026, 11, 28, 5, 1, tzinfo=UTC)) == [
        "2026-11-28T04", "2026-11-28T05"
    ]  # fmt: skip
