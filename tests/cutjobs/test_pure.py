"""The pure parts of the cutter: the transition graph, what to fetch, the state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streamvault.backfiller.peers import Peer
from streamvault.cutjobs.fetch import missing
from streamvault.cutjobs.xfade import Input, Join, build_graph
from streamvault.errors import BadEvent
from streamvault.events import model
from streamvault.store.naming import Segment

from ..restreamer.media import T0


@pytest.mark.parametrize(
    ("joins", "seconds", "xfades", "concats"),
    [
        ([], 4.0, 0, 0),
        ([Join(None)], 7.0, 0, 1),
        ([Join("fade", 1.0)], 6.0, 1, 0),
        ([Join("wipeleft", 0.5), Join(None), Join("dissolve", 2.0)], 4 + 3 + 2 + 5 - 2.5, 2, 1),
    ],
)
def test_each_xfade_shortens_the_output_by_its_duration(
    joins: list[Join], seconds: float, xfades: int, concats: int
) -> None:
    inputs = [Input(0.5, 4.0), Input(0.0, 3.0), Input(1.0, 2.0), Input(0.0, 5.0)]
    graph = build_graph(inputs[: len(joins) + 1], joins, audio=True)
    assert graph.duration == pytest.approx(seconds)
    assert graph.filter.count("xfade=") == xfades
    assert graph.filter.count("acrossfade=") == xfades
    assert graph.filter.count("concat=") == concats
    assert graph.maps[1].startswith("[jv") or not joins


def test_an_xfade_starts_where_the_overlap_begins() -> None:
    graph = build_graph([Input(0, 4.0), Input(0, 3.0)], [Join("fade", 1.5)], audio=False)
    assert "offset=2.500000" in graph.filter and "[a" not in graph.filter
    assert graph.maps == ("-map", "[jv1]")


def segment(index: int) -> Segment:
    return Segment("c", "source", T0 + timedelta(seconds=2 * index), 2.0, "full", f"h{index}")


def test_only_what_the_best_selection_needs_and_is_not_here_is_fetched() -> None:
    here = [segment(0), segment(1), segment(4)]
    a, b = Peer("a", "http://a"), Peer("b", "http://b")
    remote = {a: [segment(1), segment(2), segment(3)], b: [segment(3), segment(9)]}
    wanted = missing(here, remote, T0 + timedelta(seconds=1), T0 + timedelta(seconds=9))
    assert wanted == {segment(2): [a], segment(3): [a, b]}


@pytest.mark.parametrize("old", model.STATES)
@pytest.mark.parametrize("new", model.STATES)
def test_only_the_transitions_of_spec_12_are_allowed(old: str, new: str) -> None:
    allowed = {
        ("UNEDITED", "EDITED"), ("EDITED", "CLAIMED"), ("CLAIMED", "DONE"),
        ("CLAIMED", "FAILED"), ("FAILED", "EDITED"), ("DONE", "MODIFIED"),
        ("MODIFIED", "CLAIMED"),
    }  # fmt: skip
    if old == new or (old, new) in allowed:
        model.check_transition(old, new)
    else:
        with pytest.raises(BadEvent, match=f"from {old} to {new}"):
            model.check_transition(old, new)
