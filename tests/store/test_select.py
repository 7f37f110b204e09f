from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamvault.store.naming import Segment, SegmentType, hash_bytes
from streamvault.store.select import (
    TOLERANCE,
    Hole,
    best_by_start,
    hours_for_range,
    select_segments,
)

T0 = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def seg(start: float, duration: float = 2.0, type: SegmentType = "full", tag: str = "") -> Segment:
    return Segment("c", "q", at(start), duration, type, hash_bytes(f"{start}{type}{tag}".encode()))


def describe(result: list[Segment | Hole]) -> list[str]:
    """A compact picture of a selection: "s0" for a segment at 0 s, "hole 4-6" for a hole."""
    out = []
    for item in result:
        if isinstance(item, Hole):
            out.append(
                f"hole {(item.start - T0).total_seconds():g}-{(item.end - T0).total_seconds():g}"
            )
        else:
            out.append(f"{item.type[0]}{(item.start - T0).total_seconds():g}")
    return out


CASES = {
    "exact cover": ([seg(0), seg(2), seg(4)], 0, 6, ["f0", "f2", "f4"]),
    "hole in the middle": ([seg(0), seg(4)], 0, 6, ["f0", "hole 2-4", "f4"]),
    "leading and trailing holes": ([seg(2)], 0, 6, ["hole 0-2", "f2", "hole 4-6"]),
    "overlap within 10 ms kept": (
        [seg(0), seg(1.995), seg(3.995)],
        0,
        5,
        ["f0", "f1.995", "f3.995"],
    ),
    "gap within 10 ms is no hole": ([seg(0), seg(2.009)], 0, 4, ["f0", "f2.009"]),
    "overlap beyond 10 ms skipped": ([seg(0), seg(1.5), seg(2)], 0, 4, ["f0", "f2"]),
    "suspect beats partial": (
        [seg(0, type="partial"), seg(0, type="suspect")],
        0,
        2,
        ["s0", "hole 2-2"],
    ),
    "full beats both": (
        [seg(0, type="partial"), seg(0, type="suspect"), seg(0)],
        0,
        2,
        ["f0"],
    ),
    "longer full wins": ([seg(0, 1.0), seg(0, 2.0), seg(2)], 0, 4, ["f0", "f2"]),
    "non-full borders a hole": (
        [seg(0), seg(2, type="partial"), seg(4)],
        0,
        6,
        ["f0", "p2", "hole 4-4", "f4"],
    ),
    "segment overlapping a partial is kept": (
        [seg(0, 3.0, type="partial"), seg(2)],
        0,
        4,
        ["p0", "hole 2-2", "f2"],
    ),
    "range inside a single segment": ([seg(0, 10.0)], 3, 4, ["f0"]),
    "range ending inside a partial": ([seg(0, type="partial")], 0, 1, ["p0", "hole 1-1"]),
    "empty store": ([], 0, 6, ["hole 0-6"]),
    "segments outside the range ignored": ([seg(-4), seg(0), seg(6)], 0, 2, ["f0"]),
    "a segment ending exactly at the start is not used": ([seg(-2), seg(0)], 0, 2, ["f0"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_selection_table(case: str) -> None:
    segments, start, end, expected = CASES[case]
    assert describe(select_segments(segments, at(start), at(end))) == expected


def test_segment_spanning_an_hour_boundary() -> None:
    late = Segment("c", "q", datetime(2026, 11, 28, 4, 59, 59, tzinfo=UTC), 2.0, "full", "A" * 43)
    nxt = Segment("c", "q", datetime(2026, 11, 28, 5, 0, 1, tzinfo=UTC), 2.0, "full", "B" * 43)
    start = datetime(2026, 11, 28, 5, 0, 0, tzinfo=UTC)
    assert select_segments([nxt, late], start, start + timedelta(seconds=3)) == [late, nxt]
    # The hour before the start is consulted, because of segments like `late`.
    assert hours_for_range(start, start + timedelta(seconds=3)) == [
        "2026-11-28T04",
        "2026-11-28T05",
    ]


def test_larger_file_breaks_ties_between_non_full_segments() -> None:
    small = seg(0, type="partial", tag="small")
    large = seg(0, type="partial", tag="large")
    sizes = {small: 10, large: 1000}
    assert best_by_start([small, large], size_of=sizes.__getitem__) == [large]
    assert best_by_start([large, small], size_of=sizes.__getitem__) == [large]


def test_empty_or_inverted_range_selects_nothing() -> None:
    assert select_segments([seg(0)], at(2), at(2)) == []
    assert select_segments([seg(0)], at(2), at(1)) == []


# Property tests. Real segments on every node share split points (Twitch splits the stream
# once), so stores are drawn as pieces of one partition of time: each piece missing, or held
# once or several times with random types and sizes.
@st.composite
def stores(draw: st.DrawFn) -> list[Segment]:
    lengths = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 2.002, 1.995]), max_size=30))
    found: list[Segment] = []
    position = 0.0
    for length in lengths:
        copies = draw(st.lists(st.sampled_from(["full", "suspect", "partial"]), max_size=3))
        for i, type in enumerate(copies):
            found.append(seg(position, length, type, tag=str(i)))  # type: ignore[arg-type]
        position += length
    return found


@settings(max_examples=300, deadline=None)
@given(stores(), st.floats(-5, 60), st.floats(0, 60))
def test_selection_properties(segments: list[Segment], start_s: float, length_s: float) -> None:
    start, end = at(start_s), at(start_s + length_s)
    result = select_segments(segments, start, end)
    if end <= start:
        assert result == []
        return
    chosen = [item for item in result if isinstance(item, Segment)]
    # In time order, and never overlapping a trusted segment beyond the tolerance.
    assert [s.start for s in chosen] == sorted(s.start for s in chosen)
    for previous, current in itertools.pairwise(chosen):
        if previous.is_full:
            assert current.start >= previous.end - TOLERANCE
    # Every instant covered by some full segment is covered by the result.
    for full in (s for s in segments if s.is_full and s.start < end and s.end > start):
        probe = max(full.start, start) + (min(full.end, end) - max(full.start, start)) / 2
        assert any(s.start <= probe < s.end for s in chosen), probe
    # Where there is no hole marker, consecutive segments join within the tolerance.
    for before, after in itertools.pairwise(result):
        if isinstance(before, Segment) and isinstance(after, Segment):
            assert before.is_full
            assert abs((after.start - before.end).total_seconds()) <= 0.010 + 1e-9
