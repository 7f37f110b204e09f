"""Time parsing and formatting shared by every command and the HTTP API.

Everything inside streamvault is an aware UTC ``datetime``. Naive input is taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from .errors import BadTime

HOUR_FORMAT = "%Y-%m-%dT%H"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The one grammar of a time streamvault reads (API parameters, event fields, command-line
#: flags, ``EXT-X-PROGRAM-DATE-TIME`` and ``EXT-X-DATERANGE`` dates): ISO 8601 extended format,
#: ``T`` or a space between date and time, seconds optional, any number of fractional digits
#: (Twitch sends up to nine; kept to microseconds), then ``Z``, ``+HH``, ``+HHMM``, ``+HH:MM``
#: or nothing (UTC). It is the strictest of the three parsers it replaced (dateutil's
#: ``isoparse``, the API's UTC-only regex, the playlist parser's regex) wherever they differed:
#: no basic format, no date or hour alone, no ``,`` fraction, no lowercase ``t``/``z``.
_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?"
)
#: The offsets ``utc_only`` accepts besides none at all.
_UTC_ZONES = frozenset({"Z", "+00:00", "+0000"})
_UTC_EXAMPLE = "like 2026-11-28T04:05:06.789Z"


def parse_time(text: str, *, utc_only: bool = False) -> datetime:
    """Parse a time (the grammar above) and return it in UTC; no offset means UTC.

    ``utc_only``: an offset other than ``Z``/``+00:00`` is refused rather than converted (the
    HTTP API, SPEC §5). Every failure, also a date that does not exist or an offset that
    carries it past year 1 or 9999, is a ``BadTime`` with one line naming the text.
    """
    match = _TIME.fullmatch(text.strip())
    if match is None:
        what = f"a UTC ISO 8601 time ({_UTC_EXAMPLE})" if utc_only else "an ISO 8601 time"
        raise BadTime(f"not {what}: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if utc_only and zone is not None and zone not in _UTC_ZONES:
        raise BadTime(f"not a UTC ISO 8601 time ({_UTC_EXAMPLE}): {text!r}")
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        tz = UTC if zone is None or zone in _UTC_ZONES else _offset(zone)
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
        )
        return value if tz is UTC else value.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise BadTime(f"not a valid time: {text!r} ({err})") from None


def _offset(zone: str) -> tzinfo:
    """``+HH``, ``-HHMM``, ``+HH:MM`` as a zone; ValueError past 23 hours or 59 minutes."""
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {zone} is not one (hours to 23, minutes to 59)")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if zone[0] == "-" else offset)


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
