"""How complete the archive is over a time window (SPEC §9). Pure: no I/O.

One function measures any window: :func:`range_coverage` (the restreamer's
``/coverage/CHANNEL/QUALITY.json``); :func:`hour_coverage` measures one hour directory with its
neighbours in mind (the coverage scanner, metrics and maps). Both use
:func:`streamvault.store.select.select_segments`, so a hole here is a hole in playlists and cuts.

Definitions, for a window ``[start, end)``:

- **files**: the segment files whose start lies in the window (for an hour: the files in the
  hour directory). ``types`` counts them and sums their durations per type (``full``,
  ``suspect``, ``partial``), every file, including several files with the same start;
  ``duplicates`` counts the files beyond the first for each start time.
- **holes**: the hole markers of ``select_segments`` over the window that last more than 10 ms
  (``TOLERANCE``): gaps between segments, the untrusted end of any non-full segment, and the
  uncovered start or end of the window. For an *hour*, a hole touching the hour's start counts
  only when the previous hour has data, and one touching its end only when the next hour has
  data: the stream starting or stopping is not a hole. A gap across an hour boundary is a hole
  in both hours (each holds its own part).
- **overlaps**: taking the preferred file per start time, in time order, a segment that starts
  more than 10 ms before the end of the chain ``select_segments`` has built so far overlaps it;
  ``overlaps`` counts such segments and sums the overlapping time (clipped to the window). (The
  selection skips a segment that overlaps a full one; one overlapping a non-full segment
  replaces its untrusted end.) Files sharing a start are ``duplicates``, not overlaps.
- **raw coverage**: the time in the window covered by any segment of any type.
- **editable coverage**: the time in the window covered by the full segments that
  ``select_segments`` chains (what a cut can use without holes). ``editable <= raw <= window``.
- **bad**: file names in an hour directory that do not parse (``HourListing.bad``). They are
  counted, never fatal.

Ratios are seconds divided by the window's length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..store.disk import HourListing
from ..store.naming import SEGMENT_TYPES, Segment
from ..store.select import TOLERANCE, Hole, best_by_start, select_segments
from ..timeutil import format_iso, parse_hour

HOUR = timedelta(hours=1)
_ZERO = timedelta(0)

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class TypeFigures:
    """Files of one segment type: how many, and their summed durations in seconds."""

    count: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RangeCoverage:
    """The coverage figures of one window (see the module docstring for definitions).

    ``full_runs`` and ``partial_spans`` (clipped to the window) describe where the chosen full
    and non-full segments lie; the coverage map is painted from them and ``holes``.
    """

    start: datetime
    end: datetime
    types: dict[str, TypeFigures]
    duplicates: int
    holes: tuple[Hole, ...]
    overlap_count: int
    overlap_seconds: float
    raw_seconds: float
    editable_seconds: float
    full_runs: tuple[Span, ...] = field(default=(), repr=False)
    partial_spans: tuple[Span, ...] = field(default=(), repr=False)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def segment_count(self) -> int:
        return sum(figures.count for figures in self.types.values())

    @property
    def hole_seconds(self) -> float:
        return sum(((h.end - h.start) for h in self.holes), _ZERO).total_seconds()

    @property
    def raw_ratio(self) -> float:
        return self.raw_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def editable_ratio(self) -> float:
        return self.editable_seconds / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; times are ISO 8601 UTC, durations seconds (microsecond precision)."""
        return {
            "start": format_iso(self.start),
            "end": format_iso(self.end),
            "seconds": _round(self.seconds),
            "segments": self.segment_count,
            "types": {
                name: {"count": f.count, "duration": _round(f.seconds)}
                for name, f in self.types.items()
            },
            "duplicates": self.duplicates,
            "holes": [
                {
                    "start": format_iso(h.start),
                    "end": format_iso(h.end),
                    "duration": _round((h.end - h.start).total_seconds()),
                }
                for h in self.holes
            ],
            "hole_count": len(self.holes),
            "hole_duration": _round(self.hole_seconds),
            "overlaps": {"count": self.overlap_count, "duration": _round(self.overlap_seconds)},
            "raw_coverage": {"seconds": _round(self.raw_seconds), "ratio": _round(self.raw_ratio)},
            "editable_coverage": {
                "seconds": _round(self.editable_seconds),
                "ratio": _round(self.editable_ratio),
            },
        }


@dataclass(frozen=True, slots=True)
class HourCoverage:
    """The coverage of one hour directory: its window's figures plus what the listing held."""

    hour: str
    coverage: RangeCoverage
    bad: int = 0
    tombstones: int = 0

    @property
    def has_data(self) -> bool:
        return self.coverage.segment_count > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "hour": self.hour,
            **self.coverage.to_json(),
            "bad": self.bad,
            "tombstones": self.tombstones,
        }


def _round(value: float) -> float:
    return round(value, 6)


def range_coverage(
    segments: Sequence[Segment],
    start: datetime,
    end: datetime,
    *,
    data_before: bool = True,
    data_after: bool = True,
) -> RangeCoverage:
    """Measure ``[start, end)`` from the segments of the hours around it.

    Pass the segments of ``hours_for_range(start, end)`` (the hour before ``start`` included,
    as segments may run past their hour). A hole touching the window's start counts only when
    the stream has data before ``start`` (``data_before``), one touching its end only when it
    has data after ``end`` (``data_after``): time before the stream first started, or after
    its newest segment, is "no data", not a hole (SPEC §9).
    """
    files = [s for s in segments if start <= s.start < end]
    return _measure(
        files, segments, start, end, keep_start_hole=data_before, keep_end_hole=data_after
    )


def hour_coverage(
    hour: str,
    listing: HourListing,
    previous: Sequence[Segment] = (),
    *,
    previous_has_data: bool | None = None,
    next_has_data: bool = False,
) -> HourCoverage:
    """Measure the hour directory ``hour`` (``YYYY-MM-DDTHH``) from its parsed ``listing``.

    ``previous`` holds segments of the previous hour (at least those running into this hour:
    :func:`spill_over`); ``previous_has_data`` defaults to ``bool(previous)``. A hole touching
    the hour's start counts only if the previous hour has data, one touching its end only if
    ``next_has_data``.
    """
    start = parse_hour(hour)
    if previous_has_data is None:
        previous_has_data = bool(previous)
    coverage = _measure(
        listing.segments,
        [*previous, *listing.segments],
        start,
        start + HOUR,
        keep_start_hole=previous_has_data,
        keep_end_hole=next_has_data,
    )
    return HourCoverage(hour, coverage, bad=len(listing.bad), tombstones=len(listing.tombstones))


def spill_over(segments: Iterable[Segment], hour: str) -> tuple[Segment, ...]:
    """The segments of hour ``hour`` that run past its end, into the next hour."""
    end = parse_hour(hour) + HOUR
    return tuple(s for s in segments if s.end > end)


def _measure(
    files: Sequence[Segment],
    segments: Iterable[Segment],
    start: datetime,
    end: datetime,
    *,
    keep_start_hole: bool,
    keep_end_hole: bool,
) -> RangeCoverage:
    relevant = [s for s in segments if s.start < end and s.end > start]
    chosen = best_by_start(relevant)
    selection = select_segments(chosen, start, end)
    holes = tuple(
        h
        for h in selection
        if isinstance(h, Hole)
        and h.end - h.start > TOLERANCE
        and (keep_start_hole or h.start > start)
        and (keep_end_hole or h.end < end)
    )
    full = [s for s in selection if isinstance(s, Segment) and s.is_full]
    partial = [s for s in selection if isinstance(s, Segment) and not s.is_full]
    overlap_count, overlap = _overlaps(chosen, start, end)
    return RangeCoverage(
        start=start,
        end=end,
        types=_type_figures(files),
        duplicates=len(files) - len({s.start for s in files}),
        holes=holes,
        overlap_count=overlap_count,
        overlap_seconds=overlap.total_seconds(),
        raw_seconds=_union_length(relevant, start, end).total_seconds(),
        editable_seconds=_union_length(full, start, end).total_seconds(),
        full_runs=tuple(_runs(full, start, end, TOLERANCE)),
        partial_spans=tuple(_runs(partial, start, end, _ZERO)),
    )


def _type_figures(files: Iterable[Segment]) -> dict[str, TypeFigures]:
    counts = dict.fromkeys(SEGMENT_TYPES, 0)
    seconds = dict.fromkeys(SEGMENT_TYPES, 0.0)
    for segment in files:
        counts[segment.type] += 1
        seconds[segment.type] += segment.duration
    return {name: TypeFigures(counts[name], seconds[name]) for name in SEGMENT_TYPES}


def _overlaps(chosen: Sequence[Segment], start: datetime, end: datetime) -> tuple[int, timedelta]:
    """Overlaps against the chain as ``select_segments`` builds it (see the module docstring)."""
    count, total = 0, _ZERO
    chain_end: datetime | None = None
    trusted = False
    for segment in chosen:
        if chain_end is not None and chain_end - segment.start > TOLERANCE:
            count += 1
            total += max(_ZERO, min(chain_end, segment.end, end) - max(segment.start, start))
            if trusted:
                continue  # the selection skips it and keeps the chain it has
        chain_end, trusted = segment.end, segment.is_full
    return count, total


def _runs(
    segments: Iterable[Segment], start: datetime, end: datetime, join: timedelta
) -> list[Span]:
    """Merge segments (in start order) into runs clipped to the window; gaps <= ``join`` join."""
    runs: list[Span] = []
    for segment in segments:
        span_start, span_end = max(segment.start, start), min(segment.end, end)
        if span_end <= span_start:
            continue
        if runs and span_start - runs[-1][1] <= join:
            if span_end > runs[-1][1]:
                runs[-1] = (runs[-1][0], span_end)
        else:
            runs.append((span_start, span_end))
    return runs


def _union_length(segments: Iterable[Segment], start: datetime, end: datetime) -> timedelta:
    ordered = sorted(segments, key=lambda s: s.start)
    return sum(((b - a) for a, b in _runs(ordered, start, end, _ZERO)), _ZERO)


@dataclass(frozen=True, slots=True)
class Totals:
    """Figures summed over many hours of one channel and quality (metrics without an hour).

    A gap across an hour boundary is one hole here, though each hour holds a part of it.
    """

    hours: int
    types: dict[str, TypeFigures]
    duplicates: int
    hole_count: int
    hole_seconds: float
    overlap_count: int
    overlap_seconds: float
    raw_seconds: float
    editable_seconds: float
    bad: int


def totals(hours: Iterable[HourCoverage]) -> Totals:
    ordered = sorted(hours, key=lambda h: h.hour)
    counts: dict[str, int] = dict.fromkeys(SEGMENT_TYPES, 0)
    seconds: dict[str, float] = dict.fromkeys(SEGMENT_TYPES, 0.0)
    hole_count = 0
    open_hole_at: datetime | None = None  # where the previous hour's last hole ran to its end
    for hour in ordered:
        c = hour.coverage
        for name, figures in c.types.items():
            counts[name] += figures.count
            seconds[name] += figures.seconds
        hole_count += len(c.holes)
        if c.holes and c.holes[0].start == c.start and open_hole_at == c.start:
            hole_count -= 1  # the same gap, continued from the previous hour
        open_hole_at = c.end if c.holes and c.holes[-1].end == c.end else None
    return Totals(
        hours=len(ordered),
        types={name: TypeFigures(counts[name], seconds[name]) for name in SEGMENT_TYPES},
        duplicates=sum(h.coverage.duplicates for h in ordered),
        hole_count=hole_count,
        hole_seconds=sum(h.coverage.hole_seconds for h in ordered),
        overlap_count=sum(h.coverage.overlap_count for h in ordered),
        overlap_seconds=sum(h.coverage.overlap_seconds for h in ordered),
        raw_seconds=sum(h.coverage.raw_seconds for h in ordered),
        editable_seconds=sum(h.coverage.editable_seconds for h in ordered),
        bad=sum(h.bad for h in ordered),
    )
