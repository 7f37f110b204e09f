"""The simulated world on its own: no port, no server, time from a fake clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from streamvault.clock import FakeClock
from streamvault.sim import Fault, World
from streamvault.sim.world import ChannelTimeline
from streamvault.store.naming import hash_bytes

from .conftest import base_config


def make(clock: FakeClock, cache: Path | None = None) -> tuple[World, ChannelTimeline]:
    world = World(base_config(cache or Path("unused")), clock=clock)
    timeline = world.channel("Alpha")  # names match whatever their case
    assert timeline is not None
    return world, timeline


def test_history_and_live_edge_without_a_loop() -> None:
    clock = FakeClock()
    world, alpha = make(clock)
    assert alpha.published == list(range(6))  # history=6 complete 2 s segments
    assert world.live_sequence(alpha) == 6
    assert world.stream_seconds(alpha) == 12.0
    assert world.program_date_time(alpha, "source", None, 5) == clock.now() - timedelta(seconds=2)
    assert world.is_live(alpha, None) and world.channel_live("alpha")
    assert world.qualities(alpha) == ["source", "480p"]
    beta = world.channel("beta")
    assert beta is not None and world.qualities(beta) == ["source", "480p", "480p-portrait"]
    assert world.channel("gamma") is None and not world.channel_live("gamma")


async def test_segments_are_published_as_the_clock_completes_them() -> None:
    clock = FakeClock()
    world, alpha = make(clock)
    await clock.advance(3.9)
    world.advance()
    assert alpha.published == list(range(7))  # 6 is complete at 14 s, 7 not before 16 s
    assert world.live_sequence(alpha) == 7
    await clock.advance(0.1)
    world.advance()
    assert alpha.published[-1] == 7 and alpha.next_sequence == 8


async def test_an_outage_fault_leaves_a_gap_and_a_node_fault_only_that_node() -> None:
    clock = FakeClock()
    world, alpha = make(clock)
    world.add_fault(Fault("offline", channel="alpha", from_sequence=7, to_sequence=8))
    world.add_fault(Fault("offline", channel="alpha", node="b"))
    await clock.advance(15.0)  # 27 s into the stream: 0 to 12 complete, 13 in progress
    world.advance()
    assert alpha.published == [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12]
    assert world.is_live(alpha, None) and not world.is_live(alpha, "b")
    assert world.channel_live("alpha")  # the chat follows what every node sees
    assert world.set_online("alpha", False) and not world.is_live(alpha, None)
    await clock.advance(4.0)
    world.advance()
    assert alpha.published[-1] == 12  # nothing is published while the channel is offline
    assert not world.set_online("gamma", True)


def test_ad_break_and_skew_are_computed_from_the_faults() -> None:
    clock = FakeClock()
    world, alpha = make(clock)
    world.add_fault(Fault("ad_break", from_sequence=2, to_sequence=4, last_ad_duration=0.5))
    world.add_fault(Fault("skew", sequence=1, skew_seconds=3.0))
    ad = world.ad_break(alpha, "source", None, 3)
    assert ad is not None and ad.id == "alpha-2" and ad.last_sequence == 4
    assert ad.start == alpha.start_of(2) and ad.duration == 4.5
    assert world.shown_duration(alpha, ad, 4) == 0.5 and world.shown_duration(alpha, ad, 3) == 2.0
    assert world.ad_break(alpha, "source", None, 5) is None
    skewed = world.program_date_time(alpha, "source", None, 1)
    assert skewed == alpha.start_of(1) + timedelta(seconds=3)
    world.remove_fault(Fault("skew", sequence=1, skew_seconds=3.0))
    assert world.program_date_time(alpha, "source", None, 1) == alpha.start_of(1)
    world.clear_faults()
    assert len(world.faults) == 0 and world.ad_break(alpha, "source", None, 3) is None


def test_counters_are_kept_and_handed_out_as_copies() -> None:
    world, _ = make(FakeClock())
    counts = world.counts
    counts.request("segment", "b")
    counts.request("playlist", None)
    counts.response(200)
    counts.response(404)
    counts.response(404)
    counts.fault("truncate")
    counts.usher_path("v2")
    counts.connection()
    for delta in (+1, +1, +1, -1, -1, +1, -1, -1):  # at most three at once
        counts.segment_request("alpha/source/7", delta)
    counts.segment_request("alpha/source/8", +1)  # never twice at once: left out
    seen = world.counters
    assert seen["requests"]["segment"] == 1 and seen["requests"]["playlist"] == 1
    assert seen["requests_by_node"] == {"b": 1, "default": 1}
    assert seen["responses"] == {"200": 1, "404": 2}
    assert seen["faults_applied"] == {"truncate": 1}
    assert seen["usher_paths"] == {"v1": 0, "v2": 1}
    assert seen["connections_opened"] == 1
    assert seen["segment_in_flight_max"] == {"alpha/source/7": 3}
    seen["responses"]["200"] = 99
    assert world.counters["responses"]["200"] == 1


async def test_reanchor_counts_history_from_now_unless_a_channel_was_switched() -> None:
    clock = FakeClock()
    world, alpha = make(clock)
    await clock.advance(60.0)
    world.reanchor()
    fresh = world.channel("alpha")
    assert fresh is not None and fresh is not alpha
    assert fresh.published == list(range(6)) and fresh.origin == clock.now() - timedelta(seconds=12)
    world.set_online("beta", False)
    await clock.advance(60.0)
    world.reanchor()
    assert world.channel("alpha") is fresh
    world.advance()
    assert fresh.published[-1] == 35


async def test_published_segments_carry_the_hashes_of_the_bytes(sim_cache: Path) -> None:
    world, alpha = make(FakeClock(), sim_cache)
    with pytest.raises(RuntimeError, match="no video rendered"):
        world.segment_bytes("alpha", "source", 0)
    await world.prepare()  # renders (or loads) the video; still no server
    published = world.published("alpha", "source")
    assert [p.sequence for p in published] == alpha.published
    for segment in published[:2]:
        data = world.segment_bytes("alpha", "source", segment.sequence)
        assert segment.data_hash == hash_bytes(data) and not segment.is_ad
    assert world.init_section("alpha", "source") is None  # MPEG-TS, no EXT-X-MAP
