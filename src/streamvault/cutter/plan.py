"""Planning a cut (SPEC §7). Pure: no I/O.

A cut is one or more time ranges, joined back to back. Each range's selection
(:func:`~streamvault.store.select.select_segments`) is split at its holes into :class:`Run`s of
contiguous segments; each run knows the exact time wanted from it. ``fast`` and ``smart`` cuts
re-encode only the first and last segment of a run (:class:`Encode`) and copy the rest
(:class:`Copy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..store.naming import Segment
from ..store.select import Hole

CutType = Literal["rough", "fast", "smart", "mpegts", "mp4", "webm"]
CUT_TYPES: tuple[CutType, ...] = ("rough", "fast", "smart", "mpegts", "mp4", "webm")
#: MIME type of each cut's output.
CONTENT_TYPES: dict[CutType, str] = {
    "rough": "video/mp2t",
    "fast": "video/mp2t",
    "smart": "video/mp2t",
    "mpegts": "video/mp2t",
    "mp4": "video/mp4",
    "webm": "video/webm",
}
EXTENSIONS: dict[CutType, str] = {"mp4": "mp4", "webm": "webm"}
#: What each cut type makes, in words (the API description and docs/api.md show these).
#:
#: ``fast`` and ``smart`` differ on purpose where a cut has several runs (holes cut with
#: ``allow_holes=true``, or several ranges): ``fast`` keeps the recorded timestamps, so a hole
#: stays a gap in the timeline and the file lasts the whole span; ``smart`` rewrites them to
#: run on, so holes and joins close up and the file lasts only as long as its video.
CUT_TYPE_DESCRIPTIONS: dict[CutType, str] = {
    "rough": "the segments covering the range, their bytes joined as they are: instant, but "
    "it may start and end a few seconds outside the range",
    "fast": "exact to the frame: only the first and last segment of each stretch without "
    "holes are re-encoded, the rest is copied. The recorded timestamps are kept, so a hole "
    "(with allow_holes=true) stays a gap in the timeline and the file lasts the whole span; "
    "players may show small glitches at the joins",
    "smart": "as fast, but the timestamps are rewritten to run on without a break, so it plays "
    "cleanly in every player; holes (with allow_holes=true) and the joins of several ranges "
    "close up, and the file lasts only as long as the video it holds",
    "mpegts": "everything decoded and re-encoded (H.264/AAC in MPEG-TS): exact and clean, slow",
    "mp4": "everything re-encoded to an MP4 file (H.264/AAC) that browsers play and seek: "
    "rendered first, then sent with its length, byte ranges and its true duration",
    "webm": "everything re-encoded to a WebM file (VP8/Opus) that browsers play and seek: "
    "rendered first, then sent with its length, byte ranges and its true duration",
}

#: Trimming less than this off a segment edge is not worth a re-encode.
EDGE_EPSILON = 0.001


@dataclass(frozen=True, slots=True)
class Run:
    """Contiguous segments, and the part ``[start, end)`` of them that is wanted."""

    segments: tuple[Segment, ...]
    start: datetime
    end: datetime

    @property
    def duration(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def offset(self) -> float:
        """Seconds to drop from the start of the first segment."""
        return max(0.0, (self.start - self.segments[0].start).total_seconds())


@dataclass(frozen=True, slots=True)
class Copy:
    """A segment copied as it is."""

    segment: Segment


@dataclass(frozen=True, slots=True)
class Encode:
    """Part of a segment, re-encoded: ``duration`` seconds from ``offset`` (None: to its end)."""

    segment: Segment
    offset: float
    duration: float | None

    def length(self) -> float:
        return self.duration if self.duration is not None else self.segment.duration - self.offset


Piece = Copy | Encode


@dataclass(frozen=True, slots=True)
class CutPlan:
    runs: tuple[Run, ...]
    holes: tuple[Hole, ...]

    @property
    def segments(self) -> list[Segment]:
        return [segment for run in self.runs for segment in run.segments]

    @property
    def duration(self) -> float:
        return sum(run.duration for run in self.runs)


def split_runs(selection: Sequence[Segment | Hole], start: datetime, end: datetime) -> list[Run]:
    """Split one range's selection at its holes into runs clipped to ``[start, end)``."""
    runs: list[Run] = []
    current: list[Segment] = []
    for item in [*selection, None]:
        if isinstance(item, Segment):
            current.append(item)
            continue
        if current:
            run_start = max(start, current[0].start)
            run_end = min(end, current[-1].end)
            if run_end > run_start:
                runs.append(Run(tuple(current), run_start, run_end))
            current = []
    return runs


def plan_cut(
    selections: Iterable[tuple[Sequence[Segment | Hole], datetime, datetime]],
) -> CutPlan:
    """A plan from ``(selection, start, end)`` per requested range, in order."""
    runs: list[Run] = []
    holes: list[Hole] = []
    for selection, start, end in selections:
        holes.extend(item for item in selection if isinstance(item, Hole))
        runs.extend(split_runs(selection, start, end))
    return CutPlan(tuple(runs), tuple(holes))


def run_pieces(run: Run) -> list[Piece]:
    """The first and last segment of a run re-encoded (when trimmed), the rest copied."""
    segments = run.segments
    first, last = segments[0], segments[-1]
    offset = run.offset
    tail = max(0.0, (run.end - last.start).total_seconds())
    trim_start = offset > EDGE_EPSILON
    trim_end = last.duration - tail > EDGE_EPSILON
    if len(segments) == 1:
        if not (trim_start or trim_end):
            return [Copy(first)]
        return [Encode(first, offset, run.duration)]
    pieces: list[Piece] = [Encode(first, offset, None) if trim_start else Copy(first)]
    pieces.extend(Copy(segment) for segment in segments[1:-1])
    pieces.append(Encode(last, 0.0, tail) if trim_end else Copy(last))
    return pieces
