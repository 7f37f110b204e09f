"""A fast hour-directory listing for the restreamer, equal to
:func:`streamvault.store.disk.list_hour` but about twice as fast on the usual names.

A 24-hour playlist parses 43,200 names; :func:`~streamvault.store.naming.parse_name` validates
each piece with general code. Here one regular expression recognises the canonical form and the
time is built directly; any name it does not recognise goes through ``parse_name`` unchanged,
so the result is the same as ``list_hour``'s (a test checks this on awkward names).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from ..errors import MalformedName
from ..store.disk import HourListing
from ..store.naming import TOMBSTONE_SUFFIX, Segment, is_temp_name, parse_name
from ..timeutil import parse_hour

_CANONICAL = re.compile(
    r"(\d\d):(\d\d)\.(\d{6})-(\d+\.\d+)-(full|suspect|partial)-([A-Za-z0-9_-]{43})\.ts"
)


def _scan(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []


def list_hour_fast(directory: str, channel: str, quality: str, hour: str) -> HourListing:
    listing = HourListing()
    hour_start = parse_hour(hour)
    year, month, day, hour_number = (
        hour_start.year,
        hour_start.month,
        hour_start.day,
        hour_start.hour,
    )
    found: list[tuple[str, re.Match[str] | None]] = []
    hidden = set()
    match = _CANONICAL.fullmatch
    for name in _scan(directory):
        canonical = match(name)
        if canonical is not None:
            found.append((name, canonical))
        elif name.startswith("."):
            continue
        elif name.endswith(TOMBSTONE_SUFFIX):
            listing.tombstones.append(name)
            hidden.add(name[: -len(TOMBSTONE_SUFFIX)])
        elif not is_temp_name(name):
            found.append((name, None))
    segments, visible = listing.segments, listing.visible
    for name, canonical in found:
        if name in hidden:
            continue
        segment = None
        if canonical is not None:
            minute, second, micro, duration_text, type, hash = canonical.groups()
            duration = float(duration_text)
            if int(minute) < 60 and int(second) < 60 and repr(duration) == duration_text:
                start = datetime(
                    year, month, day, hour_number, int(minute), int(second), int(micro), UTC
                )
                segment = Segment(channel, quality, start, duration, type, hash)  # type: ignore[arg-type]
        if segment is None:
            try:
                segment = parse_name(channel, quality, hour_start, name)
            except MalformedName:
                listing.bad.append(name)
                continue
        segments.append(segment)
        visible.append(name)
    listing.tombstones.sort()
    return listing


def name_hash(name: str) -> str | None:
    """The hash of a canonical segment name (fast path); None for anything else."""
    found = _CANONICAL.fullmatch(name)
    return None if found is None else found[6]
