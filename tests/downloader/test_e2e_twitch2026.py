"""Twitch as it is in 2026, end to end against the simulator: the usher v2 path (and v1 when
asked), and a ``twitch-trigger`` date range over content, which must not drop a segment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from streamvault.sim import ChannelConfig, Fault, Simulator
from streamvault.store.disk import SegmentStore

from .simhelp import assert_complete, downloader, sim_config, sim_wait, stored, until_stored


@pytest.mark.parametrize("path", ["v2", "v1"])
async def test_usher_v2_by_default_and_v1_when_asked_both_record(
    sim_cache: Path, tmp_path: Path, path: str
) -> None:
    name = f"ush{path}"
    config = sim_config(sim_cache, [ChannelConfig(name, ["source"], "ivs", history=2)])
    async with Simulator(config) as sim:
        async with downloader(sim, tmp_path, [name], ["source"], usher_path=path):
            await sim_wait(sim, 40)
            published = sim.published(name, "source")
            await sim_wait(sim, 4)
        counters = sim.counters
    assert counters["usher_paths"][path] >= 1
    assert counters["usher_paths"]["v1" if path == "v2" else "v2"] == 0
    assert len(published) >= 15
    assert_complete(sim, tmp_path, name, "source", published)


async def test_a_twitch_trigger_range_over_content_stores_the_content(
    sim_cache: Path, tmp_path: Path
) -> None:
    config = sim_config(sim_cache, [ChannelConfig("trg1", ["source"], history=2)])
    async with Simulator(config) as sim:
        sim.add_fault(Fault("trigger", channel="trg1"))
        async with downloader(sim, tmp_path, ["trg1"], ["source"]):
            await sim_wait(sim, 40)
            published = sim.published("trg1", "source")
            await sim_wait(sim, 4)
        applied = sim.counters["faults_applied"].get("trigger", 0)
    assert applied >= 10
    assert len(published) >= 15
    assert_complete(sim, tmp_path, "trg1", "source", published)  # nothing dropped as an ad
    labels = {"channel": "trg1", "quality": "source"}
    assert REGISTRY.get_sample_value("streamvault_ad_segments_skipped_total", labels) == 0
    counted = REGISTRY.get_sample_value(
        "streamvault_date_ranges_total", {**labels, "class": "twitch-trigger"}
    )
    assert counted is not None and counted >= 1


async def test_an_fmp4_variant_is_recorded_with_its_init_section_first(
    sim_cache: Path, tmp_path: Path
) -> None:
    """SPEC §6.13: real fragmented MP4 from ffmpeg behind #EXT-X-MAP; every stored file is the
    init section and then the fragment, and its hash covers both (SPEC §3)."""
    config = sim_config(sim_cache, [ChannelConfig("mp4a", ["source"], "ivs", history=2, fmp4=True)])
    async with Simulator(config) as sim:
        async with downloader(sim, tmp_path, ["mp4a"], ["source"]):
            await sim_wait(sim, 40)
            published = sim.published("mp4a", "source")
            await until_stored(tmp_path, "mp4a", "source", published)
        init = sim.init_section("mp4a", "source")
        fragments = {s.sequence: sim.segment_bytes("mp4a", "source", s.sequence) for s in published}
        counters = sim.counters
    assert init is not None and init[4:8] == b"ftyp"
    assert len(published) >= 15
    assert_complete(sim, tmp_path, "mp4a", "source", published)  # hashes of init + fragment
    files = stored(tmp_path, "mp4a", "source")
    store = SegmentStore(str(tmp_path))
    for segment in published:
        data = await asyncio.to_thread(
            Path(store.segment_path(files[segment.program_date_time][0])).read_bytes
        )
        assert data == init + fragments[segment.sequence]
    assert 1 <= counters["requests"]["init"] <= 2  # once per worker, not once per segment
