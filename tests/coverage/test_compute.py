from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamvault.coverage.compute import (
    HourCoverage,
    hour_coverage,
    range_coverage,
    spill_over,
    totals,
)
from streamvault.store.naming import Segment
from streamvault.store.select import Hole

from .builders import H0, HOUR0, at, hour_at, listing, run, seg


def hole_spans(coverage: HourCoverage) -> list[tuple[float, float]]:
    return [
        ((h.start - H0).total_seconds(), (h.end - H0).total_seconds())
        for h in coverage.coverage.holes
    ]


def busy_hour() -> list[Segment]:
    """A hand-made hour: one 4 s gap, a partial, a suspect duplicate, a 1 s overlap, a 5 ms gap."""
    return [
        *run(0, 300),  # [0, 600)
        *run(604, 98),  # [604, 800): a hole [600, 604) before it
        seg(800, 2.0, "partial"),  # [800, 802): not editable, but not a hole either
        *run(802, 99),  # [802, 1000)
        seg(1000, 2.0, "suspect"),  # loses to the full file with the same start
        seg(1000),
        *run(1002, 49),  # [1002, 1100)
        seg(1100),
        seg(1101),  # overlaps [1101, 1102): the selection skips it
        *run(1102, 49),  # [1102, 1200)
        seg(1200, 1.995),  # ends 5 ms early: tolerated, not a hole
        *run(1202, 1199),  # [1202, 3600)
    ]


def test_busy_hour_gives_exact_figures() -> None:
    result = hour_coverage(
        HOUR0, listing(busy_hour(), bad=["garbage.ts"]), [seg(-2)], next_has_data=True
    )
    c = result.coverage
    assert c.types["full"].count == 1798
    assert c.types["full"].seconds == pytest.approx(1797 * 2 + 1.995)
    assert (c.types["suspect"].count, c.types["suspect"].seconds) == (1, 2.0)
    assert (c.types["partial"].count, c.types["partial"].seconds) == (1, 2.0)
    assert c.segment_count == 1800
    assert c.duplicates == 1
    assert hole_spans(result) == [(600.0, 604.0)]
    assert c.hole_seconds == 4.0
    assert (c.overlap_count, c.overlap_seconds) == (1, 1.0)
    assert c.raw_seconds == 3595.995
    assert c.editable_seconds == 3593.995
    assert c.raw_ratio == pytest.approx(3595.995 / 3600)
    assert result.bad == 1
    assert result.has_data


def test_busy_hour_json() -> None:
    data = hour_coverage(HOUR0, listing(busy_hour(), bad=["x.ts"]), [seg(-2)]).to_json()
    assert data["hour"] == HOUR0
    assert data["start"] == "2026-11-28T04:00:00.000000Z"
    assert data["end"] == "2026-11-28T05:00:00.000000Z"
    assert data["types"]["suspect"] == {"count": 1, "duration": 2.0}
    assert data["holes"] == [
        {
            "start": "2026-11-28T04:10:00.000000Z",
            "end": "2026-11-28T04:10:04.000000Z",
            "duration": 4.0,
        }
    ]
    assert data["overlaps"] == {"count": 1, "duration": 1.0}
    assert data["raw_coverage"]["seconds"] == 3595.995
    assert data["editable_coverage"] == {"seconds": 3593.995, "ratio": 0.998332}
    assert data["bad"] == 1


@pytest.mark.parametrize(
    ("previous", "previous_has_data", "expected"),
    [
        ([], None, []),  # the stream started at 00:30: not a hole
        ([seg(-10)], None, [(0.0, 30.0)]),  # the previous hour had data: a hole
        ([], True, [(0.0, 30.0)]),
        ([seg(-1, 31.0)], None, []),  # the previous hour's last segment runs into this one
        ([seg(-1, 11.0)], None, [(10.0, 30.0)]),
    ],
)
def test_hole_at_the_hour_start_only_when_the_previous_hour_has_data(
    previous: list[Segment], previous_has_data: bool | None, expected: list[tuple[float, float]]
) -> None:
    result = hour_coverage(
        HOUR0, listing(run(30, 1785)), previous, previous_has_data=previous_has_data
    )
    assert hole_spans(result) == expected


@pytest.mark.parametrize(("next_has_data", "expected"), [(False, []), (True, [(3540.0, 3600.0)])])
def test_hole_at_the_hour_end_only_when_the_next_hour_has_data(
    next_has_data: bool, expected: list[tuple[float, float]]
) -> None:
    result = hour_coverage(HOUR0, listing(run(0, 1770)), next_has_data=next_has_data)
    assert hole_spans(result) == expected
    assert result.coverage.raw_seconds == 3540.0


def test_spill_over_counts_toward_raw_coverage_but_not_the_hours_files() -> None:
    result = hour_coverage(HOUR0, listing(run(1, 1800)), [seg(-1)], next_has_data=True)
    assert hole_spans(result) == []
    assert result.coverage.raw_seconds == 3600.0
    assert result.coverage.types["full"].count == 1800
    without = hour_coverage(HOUR0, listing(run(1, 1800)), next_has_data=True)
    assert without.coverage.raw_seconds == 3599.0


def test_an_hour_of_only_bad_names_is_a_hole_between_hours_with_data() -> None:
    empty = listing([], bad=["02:00.000000-2.0-full-short.ts"])
    between = hour_coverage(HOUR0, empty, previous_has_data=True, next_has_data=True)
    assert hole_spans(between) == [(0.0, 3600.0)]
    assert (between.bad, between.has_data) == (1, False)
    after_the_end = hour_coverage(HOUR0, empty, previous_has_data=True, next_has_data=False)
    assert hole_spans(after_the_end) == []


def test_a_partial_before_a_gap() -> None:
    segments = [*run(0, 10), seg(20, 2.0, "partial"), *run(30, 1785)]
    result = hour_coverage(HOUR0, listing(segments), [seg(-2)], next_has_data=True)
    # [20, 22) is partial (its end untrusted), then nothing until 30.
    assert hole_spans(result) == [(22.0, 30.0)]
    assert result.coverage.raw_seconds == 20 + 2 + 3570
    assert result.coverage.editable_seconds == 20 + 3570
    assert [(a - H0).total_seconds() for a, _ in result.coverage.partial_spans] == [20.0]


def test_range_coverage_counts_holes_at_the_range_edges() -> None:
    segments = [*run(0, 4), *run(12, 10)]  # [0, 8) and [12, 32)
    result = range_coverage(segments, at(10), at(40))
    assert [(h.start, h.end) for h in result.holes] == [(at(10), at(12)), (at(32), at(40))]
    assert result.types["full"].count == 10
    assert result.raw_seconds == 20.0
    assert result.editable_ratio == pytest.approx(20 / 30)
    data = result.to_json()
    assert data["hole_count"] == 2
    assert data["hole_duration"] == 10.0
    assert data["seconds"] == 30.0


def test_range_coverage_of_nothing_is_one_hole() -> None:
    result = range_coverage([], at(0), at(60))
    assert result.holes == (Hole(at(0), at(60)),)
    assert result.raw_seconds == 0.0
    assert result.to_json()["segments"] == 0


def test_range_coverage_uses_segments_from_the_hour_before() -> None:
    result = range_coverage([seg(-1, 3.0), *run(2, 4)], at(0), at(10))
    assert result.holes == ()
    assert result.types["full"].count == 4  # only files starting inside the range


def test_totals_count_a_gap_across_an_hour_boundary_once() -> None:
    hour0 = hour_coverage(HOUR0, listing(run(0, 1795)), next_has_data=True)
    later = [seg(3610 + 2 * i) for i in range(1795)]
    hour1 = hour_coverage(
        hour_at(1), listing(later), spill_over(run(0, 1795), HOUR0), previous_has_data=True
    )
    assert hole_spans(hour0) == [(3590.0, 3600.0)]
    assert hole_spans(hour1) == [(3600.0, 3610.0)]
    summed = totals([hour1, hour0])
    assert (summed.hole_count, summed.hole_seconds) == (1, 20.0)
    assert summed.types["full"].count == 3590
    assert summed.hours == 2


_starts = st.lists(
    st.tuples(
        st.integers(0, 3599_000),
        st.sampled_from([0.5, 1.0, 2.0, 2.002, 1.995, 4.0]),
        st.sampled_from(["full", "full", "full", "suspect", "partial"]),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_starts, st.booleans(), st.booleans())
def test_editable_within_raw_within_the_hour_and_holes_apart_from_editable(
    items: list[tuple[int, float, str]], previous_has_data: bool, next_has_data: bool
) -> None:
    segments = [seg(ms / 1000, duration, type) for ms, duration, type in items]  # type: ignore[arg-type]
    result = hour_coverage(
        HOUR0, listing(segments), previous_has_data=previous_has_data, next_has_data=next_has_data
    ).coverage
    assert 0 <= result.editable_seconds <= result.raw_seconds <= 3600
    assert result.editable_seconds + result.hole_seconds <= 3600 + 1e-6
    for hole in result.holes:
        assert hole.end - hole.start > timedelta(milliseconds=10)
        for run_start, run_end in result.full_runs:
            assert min(hole.end, run_end) - max(hole.start, run_start) <= timedelta(0)


@settings(max_examples=100, deadline=None)
@given(_starts, _starts)
def test_raw_coverage_of_a_union_is_at_least_that_of_each_part(
    first: list[tuple[int, float, str]], second: list[tuple[int, float, str]]
) -> None:
    def segments(items: list[tuple[int, float, str]]) -> list[Segment]:
        return [seg(ms / 1000, d, t, tag="x") for ms, d, t in items]  # type: ignore[arg-type]

    a, b = segments(first), segments(second)
    whole = range_coverage(a + b, at(0), at(3600)).raw_seconds
    assert whole >= range_coverage(a, at(0), at(3600)).raw_seconds
    assert whole >= range_coverage(b, at(0), at(3600)).raw_seconds
    assert (
        whole
        <= range_coverage(a, at(0), at(3600)).raw_seconds
        + range_coverage(b, at(0), at(3600)).raw_seconds
        + 1e-6
    )
