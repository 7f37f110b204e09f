"""What a timeline draws: a range's selection merged into spans of one kind. Pure: no I/O.

``coverage_spans(selection, start, end)`` turns the output of
:func:`~streamvault.store.select.select_segments` into back-to-back :class:`Span`\\ s of
``full`` video, ``partial`` video (partial or suspect segments, whose edges cannot be trusted)
and ``hole``; time before the first segment or after the last is ``none`` (no data, not a
hole, SPEC §9). A day of 2 s segments (43 200 of them) becomes a handful of spans, which is
what the editor's timeline and the landing page draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..store.naming import Segment
from ..store.select import Hole
from ..timeutil import format_iso

SpanKind = Literal["full", "partial", "hole", "none"]


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime
    kind: SpanKind

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {"start": format_iso(self.start), "end": format_iso(self.end), "kind": self.kind}


def _pieces(
    selection: Sequence[Segment | Hole], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, SpanKind]]:
    pieces: list[tuple[datetime, datetime, SpanKind]] = []
    for item in selection:
        if isinstance(item, Hole):
            pieces.append((item.start, item.end, "hole"))
        else:
            pieces.append((item.start, item.end, "full" if item.is_full else "partial"))
    clipped = [(max(a, start), min(b, end), kind) for a, b, kind in pieces]
    return [(a, b, kind) for a, b, kind in clipped if b > a]


def coverage_spans(
    selection: Sequence[Segment | Hole], start: datetime, end: datetime
) -> list[Span]:
    """Spans covering ``[start, end)`` exactly, neighbours of one kind merged."""
    pieces = _pieces(selection, start, end)
    first_video = next((i for i, p in enumerate(pieces) if p[2] != "hole"), None)
    if first_video is None:
        return [Span(start, end, "none")] if end > start else []
    last_video = max(i for i, p in enumerate(pieces) if p[2] != "hole")
    # Holes before the first and after the last segment are "no data" (SPEC §9).
    pieces = pieces[first_video : last_video + 1]
    spans: list[Span] = []
    cursor = start
    for a, b, kind in pieces:
        if a > cursor:
            _append(spans, Span(cursor, a, "hole" if spans else "none"))
        a = max(a, cursor)
        if b > a:
            _append(spans, Span(a, b, kind))
            cursor = b
    if end > cursor:
        _append(spans, Span(cursor, end, "none"))
    return spans


def _append(spans: list[Span], span: Span) -> None:
    if spans and spans[-1].kind == span.kind and spans[-1].end >= span.start:
        spans[-1] = Span(spans[-1].start, span.end, span.kind)
    else:
        spans.append(span)


def holes(spans: Sequence[Span]) -> list[Span]:
    return [span for span in spans if span.kind == "hole"]


def video_bounds(spans: Sequence[Span]) -> tuple[datetime, datetime] | None:
    """Start of the first and end of the last span that holds video."""
    video = [span for span in spans if span.kind in ("full", "partial")]
    return (video[0].start, video[-1].end) if video else None
