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
from ..store.select import TOLERANCE, Hole
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


def _merged(selection: Sequence[Segment | Hole], start: datetime, end: datetime) -> list[list[Any]]:
    """``[start, end, kind]`` runs, clipped, neighbours of one kind joined, small gaps closed.

    One pass over a day's selection (43 200 items) in tens of milliseconds: no object per item.
    """
    merged: list[list[Any]] = []
    for item in selection:
        if isinstance(item, Hole):
            a, b, kind = item.start, item.end, "hole"
        else:
            a, b = item.start, item.end
            kind = "full" if item.type == "full" else "partial"
        a, b = max(a, start), min(b, end)
        if b <= a:
            continue
        if merged:
            last = merged[-1]
            if a > last[1]:  # a gap the selection tolerated (or a hole it did not mark)
                if a - last[1] <= TOLERANCE:
                    last[1] = a
                else:
                    merged.append([last[1], a, "hole"])
                    last = merged[-1]
            if last[2] == kind:
                last[1] = max(last[1], b)
                continue
            a = max(a, last[1])
            if b <= a:
                continue
        merged.append([a, b, kind])
    return merged


def coverage_spans(
    selection: Sequence[Segment | Hole], start: datetime, end: datetime
) -> list[Span]:
    """Spans covering ``[start, end)`` exactly, neighbours of one kind merged."""
    merged = _merged(selection, start, end)
    # Holes before the first and after the last segment are "no data" (SPEC §9).
    while merged and merged[0][2] == "hole":
        merged.pop(0)
    while merged and merged[-1][2] == "hole":
        merged.pop()
    if not merged:
        return [Span(start, end, "none")] if end > start else []
    spans = [Span(a, b, kind) for a, b, kind in merged]
    if spans[0].start > start:
        spans.insert(0, Span(start, spans[0].start, "none"))
    if spans[-1].end < end:
        spans.append(Span(spans[-1].end, end, "none"))
    return spans


def holes(spans: Sequence[Span]) -> list[Span]:
    return [span for span in spans if span.kind == "hole"]


def video_bounds(spans: Sequence[Span]) -> tuple[datetime, datetime] | None:
    """Start of the first and end of the last span that holds video."""
    video = [span for span in spans if span.kind in ("full", "partial")]
    return (video[0].start, video[-1].end) if video else None
