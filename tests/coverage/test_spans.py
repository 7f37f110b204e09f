"""Spans for a timeline (pure): a selection becomes back-to-back spans of one kind."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streamvault.coverage.spans import coverage_spans, holes, video_bounds
from streamvault.store.naming import Segment
from streamvault.store.select import select_segments

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def segment(index: int, type: str = "full") -> Segment:
    return Segment("c", "source", T0 + timedelta(seconds=2 * index), 2.0, type, "h" * 43)  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def kinds(segments: list[Segment], start: float, end: float) -> list[tuple[str, float, float]]:
    selection = select_segments(segments, at(start), at(end))
    return [
        (s.kind, (s.start - T0).total_seconds(), (s.end - T0).total_seconds())
        for s in coverage_spans(selection, at(start), at(end))
    ]


def test_a_hole_between_video_and_no_data_at_the_edges() -> None:
    segments = [segment(i) for i in (0, 1, 2, 5, 6)]
    assert kinds(segments, -10, 20) == [
        ("none", -10, 0),
        ("full", 0, 6),
        ("hole", 6, 10),
        ("full", 10, 14),
        ("none", 14, 20),
    ]


def test_partial_segments_are_their_own_kind() -> None:
    segments = [segment(0), segment(1, "partial"), segment(2)]
    found = kinds(segments, 0, 6)
    assert [kind for kind, _, _ in found][:2] == ["full", "partial"]


def test_nothing_at_all_is_no_data() -> None:
    assert kinds([], 0, 10) == [("none", 0, 10)]


def test_holes_and_bounds() -> None:
    selection = select_segments([segment(0), segment(3)], at(0), at(8))
    spans = coverage_spans(selection, at(0), at(8))
    assert [(h.start, h.end) for h in holes(spans)] == [(at(2), at(6))]
    assert video_bounds(spans) == (at(0), at(8))


@given(
    present=st.sets(st.integers(0, 40), max_size=40),
    start=st.integers(-10, 90),
    length=st.integers(1, 100),
)
def test_spans_tile_the_range_exactly(present: set[int], start: int, length: int) -> None:
    segments = [segment(i) for i in sorted(present)]
    a, b = at(start), at(start + length)
    spans = coverage_spans(select_segments(segments, a, b), a, b)
    assert spans[0].start == a and spans[-1].end == b
    for left, right in itertools.pairwise(spans):
        assert left.end == right.start and left.kind != right.kind
    video = sum(s.seconds for s in spans if s.kind == "full")
    wanted = sum(
        max(0.0, (min(seg.end, b) - max(seg.start, a)).total_seconds()) for seg in segments
    )
    assert abs(video - wanted) < 1e-6
