"""Time parsing and formatting shared by every command and the HTTP API.

Everything inside streamvault is an aware UTC ``datetime``. Naive input is taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from dateutil import parser as dateutil_parser

from .errors import BadTime

HOUR_FORMAT = "%Y-%m-%dT%H"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# UTC only: date, time, optional fraction (any number of digits, as Twitch sends up to nine),
# optional "Z" or "+00:00". dateutil is used for the general case; this stricter form exists
# because the API must refuse other offsets rather than silently convert them.
_UTC_ONLY = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|\+00:?00)?"
)


def parse(text: str) -> datetime:
    """Parse any ISO 8601 time in any zone and return it in UTC (naive means UTC)."""
    text = text.strip()
    if not text:
        raise BadTime("empty timestamp")
    try:
        value = dateutil_parser.isoparse(text)
    except (ValueError, OverflowError) as err:
        raise BadTime(f"not an ISO 8601 time: {text!r}") from err
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_utc_only(text: str) -> datetime:
    """Parse a UTC ISO 8601 time, with or without fraction and ``Z``; other offsets are errors."""
    match = _UTC_ONLY.fullmatch(text.strip())
    if match is None:
        raise BadTime(f"not a UTC ISO 8601 time (like 2026-11-28T04:05:06.789Z): {text!r}")
    year, month, day, hour, minute, second, fraction, _zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=UTC,
        )
    except ValueError as err:
        raise BadTime(f"not a valid time: {text!r} ({err})") from err


def format_iso(value: datetime) -> str:
    """Format a UTC time as ``2026-11-28T04:05:06.789000Z`` (always six fractional digits)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hour_name(value: datetime) -> str:
    """The store's hour directory name for a time: ``2019-11-13T02``."""
    return value.astimezone(UTC).strftime(HOUR_FORMAT)


def parse_hour(name: str) -> datetime:
    """Parse an hour directory name strictly; raises ``BadTime``."""
    if len(name) != 13 or name[10] != "T":
        raise BadTime(f"not an hour name (YYYY-MM-DDTHH): {name!r}")
    try:
        return datetime.strptime(name, HOUR_FORMAT).replace(tzinfo=UTC)
    except ValueError as err:
        raise BadTime(f"not an hour name (YYYY-MM-DDTHH): {name!r}") from err


def floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> list[str]:
    """Hour names from the hour of ``start`` through the hour of ``end``, inclusive."""
    names = []
    hour = floor_hour(start.astimezone(UTC))
    last = floor_hour(end.astimezone(UTC))
    while hour <= last:
        names.append(hour.strftime(HOUR_FORMAT))
        hour += timedelta(hours=1)
    return names


def hours_within(names: Iterable[str], start: datetime, end: datetime) -> list[str]:
    """Those of the hour names given (hours that exist) from the hour of ``start`` through the
    hour of ``end``, sorted. Unlike :func:`hours_between`, bounded by what exists: a client's
    range from year 1 to 9999 costs one look at each name, not 88 million hours."""
    low, high = floor_hour(start.astimezone(UTC)), floor_hour(end.astimezone(UTC))
    found = []
    for name in names:
        try:
            hour = parse_hour(name)
        except BadTime:
            continue  # not an hour directory
        if low <= hour <= high:
            found.append(name)
    return sorted(found)


def to_seconds(value: datetime) -> float:
    """Seconds since the Unix epoch (for Prometheus gauges)."""
    return (value - EPOCH).total_seconds()
