"""Hand-made segments and hours for the coverage tests."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from streamvault.store.disk import HourListing
from streamvault.store.naming import Segment, SegmentType, hash_bytes
from streamvault.timeutil import hour_name

#: The hour every test builds around: 2026-11-28T04.
H0 = datetime(2026, 11, 28, 4, tzinfo=UTC)
HOUR0 = hour_name(H0)


def at(seconds: float) -> datetime:
    """``seconds`` after the start of hour ``HOUR0`` (negative: the hour before)."""
    return H0 + timedelta(seconds=seconds)


def seg(start: float, duration: float = 2.0, type: SegmentType = "full", tag: str = "") -> Segment:
    return Segment("c", "q", at(start), duration, type, hash_bytes(f"{start}{type}{tag}".encode()))


def run(
    start: float, count: int, duration: float = 2.0, type: SegmentType = "full"
) -> list[Segment]:
    """``count`` back-to-back segments from ``start``."""
    return [seg(start + i * duration, duration, type) for i in range(count)]


def listing(segments: Iterable[Segment], bad: Iterable[str] = ()) -> HourListing:
    segments = list(segments)
    return HourListing(segments=segments, visible=[s.name for s in segments], bad=list(bad))


def touch_segments(base: str, segments: Iterable[Segment]) -> None:
    """Create empty files under the segments' names (the coverage only reads names)."""
    made: set[str] = set()
    for segment in segments:
        path = os.path.join(base, segment.path)
        directory = os.path.dirname(path)
        if directory not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(directory)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def hour_at(offset_hours: int) -> str:
    return hour_name(H0 + timedelta(hours=offset_hours))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
