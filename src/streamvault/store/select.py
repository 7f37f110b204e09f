"""Choosing segments for a time range (SPEC §4). Pure: no I/O.

Playlists, cuts and coverage all call :func:`select_segments`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from ..timeutil import hours_between
from .naming import Segment

#: A gap or overlap up to this much is not a hole (encoders round durations).
TOLERANCE = timedelta(milliseconds=10)

_TYPE_RANK = {"full": 2, "suspect": 1, "partial": 0}


@dataclass(frozen=True, slots=True)
class Hole:
    """A stretch of ``[start, end)`` that no trustworthy segment covers."""

    start: datetime
    end: datetime


def hours_for_range(start: datetime, end: datetime) -> list[str]:
    """The hour directories that can hold segments for ``[start, end)``.

    From the hour before ``start`` (a segment may run past the end of its hour) through the
    hour of ``end``.
    """
    return hours_between(start - timedelta(hours=1), end)


_start = attrgetter("start")


def _no_size(segment: Segment) -> int:
    return segment.size or 0


def preference_key(
    segment: Segment, size_of: Callable[[Segment], int] = _no_size
) -> tuple[int, float, int]:
    """Sort key, larger is better: full (longer, then larger) > suspect > partial (larger)."""
    if segment.type == "full":
        return (2, segment.duration, size_of(segment))
    return (_TYPE_RANK[segment.type], 0.0, size_of(segment))


def best_by_start(
    segments: Iterable[Segment], size_of: Callable[[Segment], int] = _no_size
) -> list[Segment]:
    """One segment per start time, the preferred one, in time order."""
    ordered = sorted(segments, key=_start)  # stable: ties keep their input order
    best: list[Segment] = []
    contested: dict[int, list[Segment]] = {}
    for segment in ordered:
        if best and best[-1].start == segment.start:
            contested.setdefault(len(best) - 1, [best[-1]]).append(segment)
        else:
            best.append(segment)
    # Sizes cost a stat each, so they are only asked for where several files share a start.
    for index, candidates in contested.items():
        best[index] = max(candidates, key=lambda s: preference_key(s, size_of))
    return best


def select_segments(
    segments: Iterable[Segment],
    start: datetime,
    end: datetime,
    size_of: Callable[[Segment], int] = _no_size,
) -> list[Segment | Hole]:
    """The segments that cover ``[start, end)`` in order, with ``Hole`` markers where they don't.

    - per start time the preferred file is kept (:func:`preference_key`);
    - segments chain in time order; a gap or overlap up to ``TOLERANCE`` is tolerated, a larger
      gap is a hole; a segment overlapping a full one by more than ``TOLERANCE`` is skipped;
    - a hole follows every non-full segment, since its end cannot be trusted. A segment that
      overlaps a non-full one is therefore not skipped: it is better data for the same time;
    - a hole marks an uncovered start or end of the range.
    """
    if end <= start:
        return []
    # This runs over a day of segments per playlist request, so it avoids recomputing
    # ``Segment.end`` (a new timedelta each time): durations repeat, their timedeltas are cached.
    lengths: dict[float, timedelta] = {}

    def length(segment: Segment) -> timedelta:
        value = lengths.get(segment.duration)
        if value is None:
            value = lengths[segment.duration] = timedelta(seconds=segment.duration)
        return value

    relevant = (
        s
        for s in segments
        if s.start < end and (s.start + length(s) > start if s.start <= start else True)
    )
    result: list[Segment | Hole] = []
    chain_end = start
    previous: Segment | None = None
    for segment in best_by_start(relevant, size_of):
        segment_start = segment.start
        if previous is None:
            if segment_start > start + TOLERANCE:
                result.append(Hole(start, segment_start))
        elif segment_start == chain_end and previous.is_full:
            pass  # the usual case, an exact join: no time arithmetic needed
        elif not previous.is_full:
            result.append(Hole(min(chain_end, segment_start), segment_start))
        elif segment_start > chain_end + TOLERANCE:
            result.append(Hole(chain_end, segment_start))
        elif segment_start < chain_end - TOLERANCE:
            continue  # overlaps a trusted segment: keep the chain we have
        result.append(segment)
        previous = segment
        chain_end = segment_start + length(segment)
    if previous is None:
        result.append(Hole(start, end))
    elif not previous.is_full or end - chain_end > TOLERANCE:
        result.append(Hole(min(chain_end, end), end))
    return result


def holes(selection: Iterable[Segment | Hole]) -> list[Hole]:
    return [item for item in selection if isinstance(item, Hole)]


def segments_only(selection: Iterable[Segment | Hole]) -> list[Segment]:
    return [item for item in selection if isinstance(item, Segment)]
