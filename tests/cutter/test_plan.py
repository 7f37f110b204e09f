from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamvault.cutter.plan import Copy, Encode, plan_cut, run_pieces, split_runs
from streamvault.store.naming import Segment
from streamvault.store.select import select_segments

T = datetime(2026, 11, 28, 4, tzinfo=UTC)
HASH = "47DEQpj8HBSa_-TImW_5JCeuQeRkm5NMpJWZG3hSuFU"


def seg(index: int) -> Segment:
    return Segment("c", "q", T + timedelta(seconds=2 * index), 2.0, "full", HASH)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_runs_split_at_holes_and_clip_to_the_range() -> None:
    segments = [seg(i) for i in (0, 1, 2, 5, 6)]
    selection = select_segments(segments, at(1), at(13))
    runs = split_runs(selection, at(1), at(13))
    assert [len(run.segments) for run in runs] == [3, 2]
    assert (runs[0].start, runs[0].end) == (at(1), at(6))
    assert (runs[1].start, runs[1].end) == (at(10), at(13))
    assert runs[0].offset == 1.0


def test_fast_pieces_reencode_only_trimmed_edges() -> None:
    plan = plan_cut([(select_segments([seg(i) for i in range(5)], at(1), at(7.5)), at(1), at(7.5))])
    (run,) = plan.runs
    assert run_pieces(run) == [
        Encode(seg(0), 1.0, None),
        Copy(seg(1)),
        Copy(seg(2)),
        Encode(seg(3), 0.0, 1.5),
    ]
    assert plan.duration == 6.5
    exact = plan_cut([(select_segments([seg(i) for i in range(5)], at(2), at(6)), at(2), at(6))])
    assert run_pieces(exact.runs[0]) == [Copy(seg(1)), Copy(seg(2))]


def test_a_range_inside_one_segment_is_one_encode() -> None:
    plan = plan_cut([(select_segments([seg(0)], at(0.5), at(1.25)), at(0.5), at(1.25))])
    assert run_pieces(plan.runs[0]) == [Encode(seg(0), 0.5, 0.75)]


def test_several_ranges_keep_their_order_and_holes_are_reported() -> None:
    segments = [seg(i) for i in range(10)]
    plan = plan_cut(
        [
            (select_segments(segments, at(10), at(12)), at(10), at(12)),
            (select_segments(segments, at(0), at(2)), at(0), at(2)),
            (select_segments(segments, at(18), at(25)), at(18), at(25)),
        ]
    )
    assert [run.start for run in plan.runs] == [at(10), at(0), at(18)]
    assert [(h.start, h.end) for h in plan.holes] == [(at(20), at(25))]
    assert plan.segments[:2] == [seg(5), seg(0)]
