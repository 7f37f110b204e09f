from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from streamvault.errors import BadTime
from streamvault.restreamer.openapi import TIME_PATTERN
from streamvault.timeutil import (
    format_iso,
    hour_name,
    hours_between,
    parse_hour,
    parse_time,
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
        "2026-11-27T23:05:06.789-0500",
        "2026-11-28T06:05:06.789+02",
        "2026-11-28 04:05:06.789Z",
        "  2026-11-28T04:05:06.789Z\n",
    ],
)
def test_parse_any_zone_to_utc(text: str) -> None:
    value = parse_time(text)
    assert value == WHEN and value.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T04:05:06.789",
        "2026-11-28T04:05:06.789Z",
        "2026-11-28T04:05:06.789999999Z"[:23] + "Z",
        "2026-11-28T04:05:06.789+00:00",
        "2026-11-28T04:05:06.789+0000",
    ],
)
def test_parse_utc_only_accepts_utc(text: str) -> None:
    assert parse_time(text, utc_only=True) == WHEN


def test_parse_keeps_microseconds_of_long_fractions() -> None:
    for utc_only in (False, True):
        value = parse_time("2026-11-28T16:39:31.928999994Z", utc_only=utc_only)
        assert value.microsecond == 928999  # cut, not rounded
        assert parse_time("2026-11-28T04:05:06", utc_only=utc_only) == WHEN.replace(microsecond=0)
        assert parse_time("2026-11-28T04:05", utc_only=utc_only) == WHEN.replace(
            second=0, microsecond=0
        )


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T05:05:06.789+01:00", "2026-11-28T04:05:06-00:30", "2026-11-28T04:05:06+00"],
)
def test_parse_utc_only_refuses_other_offsets(text: str) -> None:
    with pytest.raises(BadTime, match="not a UTC ISO 8601 time"):
        parse_time(text, utc_only=True)
    parse_time(text)  # which the general form converts


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "",
        "   ",
        "2026-13-28T04:05:06",
        "2026-11-28T25:00",
        "2026-02-30T00:00:00",
        "2026-11-28T04:05:60",
        "2026-11-28T24:00:00",
        # the strictest of the parsers this one replaced, wherever they differed:
        "20261128T040506.789Z",  # basic format (dateutil took it)
        "2026-11-28",  # a date alone (dateutil took it)
        "2026-11-28T04",  # an hour alone (dateutil took it)
        "2026-11-28T04:05:06,789Z",  # comma fraction (the playlist parser took it)
        "2026-11-28t04:05:06Z",  # lowercase t (the playlist parser took it)
        "2026-11-28T04:05:06z",  # lowercase z (the playlist parser took it)
        "2026-11-28T04:05:06 Z",  # space before the zone (the playlist parser took it)
        "2026-11-28T04:05:06.Z",
        "2026-11-28T04:05:06+1",
        "2026-11-28T04:05:06+25:00",
        "2026-11-28T04:05:06+24:00",
        "2026-11-28T04:05:06+05:60",
        "2026-11-28T04:05:06+05:00:00",
    ],
)
def test_parse_refuses_the_rest(text: str) -> None:
    for utc_only in (False, True):
        with pytest.raises(BadTime, match=re.escape(repr(text))):
            parse_time(text, utc_only=utc_only)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00+00:01"]
)
def test_an_offset_past_the_calendar_is_a_bad_time_not_an_overflow(text: str) -> None:
    """dateutil's path converted after parsing and let OverflowError through (a 500)."""
    with pytest.raises(BadTime, match="not a valid time"):
        parse_time(text)


def test_the_api_schema_pattern_is_the_utc_only_grammar() -> None:
    """The OpenAPI document's pattern accepts exactly what the API's parser accepts."""
    samples = [
        "2026-11-28T04:05:06.789Z", "2026-11-28 04:05", "2026-11-28T04:05:06+00:00",
        "2026-11-28T04:05:06+0000", "2026-11-28T04:05:06.1234567", "2026-11-28T04:05:06+01:00",
        "2026-11-28T04:05:06z", "20261128T040506Z", "2026-11-28", "2026-11-28T04:05:06,7",
    ]  # fmt: skip
    for text in samples:
        try:
            parse_time(text, utc_only=True)
            parsed = True
        except BadTime:
            parsed = False
        assert (re.fullmatch(TIME_PATTERN, text) is not None) == parsed, text


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
