"""End-to-end: the downloader records the simulator (issue 8 tests 1, 3, 4, 9, 13)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import REGISTRY

from streamvault.clock import SystemClock
from streamvault.downloader.service import ChannelSpec, Downloader
from streamvault.sim import ChannelConfig, Fault, Simulator
from streamvault.sources.twitch import TwitchSource
from streamvault.store.disk import SegmentStore

from .simhelp import (
    assert_complete,
    downloader,
    sim_config,
    sim_wait,
    stored,
    temp_files,
    until,
    until_stored,
)


async def test_two_channels_two_qualities_every_segment_once(
    sim_cache: Path, tmp_path: Path
) -> None:
    config = sim_config(sim_cache, [
        ChannelConfig("rec1a", ["source", "480p"], "media", history=5),
        ChannelConfig("rec1b", ["source", "720p60"], "ivs", history=5),
    ], time_scale=40.0)  # fmt: skip
    async with Simulator(config) as sim:
        qualities = ["source", "480p", "720p60"]
        async with downloader(sim, tmp_path, ["rec1a", "rec1b"], qualities):
            await sim_wait(sim, 180)
            published = {
                (c, q): sim.published(c, q)
                for c, qs in (("rec1a", ["source", "480p"]), ("rec1b", ["source", "720p60"]))
                for q in qs
            }
            for (channel, quality), segments in published.items():
                await until_stored(tmp_path, channel, quality, segments)
    for (channel, quality), segments in published.items():
        assert len(segments) >= 90
        assert_complete(sim, tmp_path, channel, quality, segments)
    # A quality a channel does not have is never created.
    assert not (tmp_path / "rec1a" / "720p60").exists()
    assert not (tmp_path / "rec1b" / "480p").exists()
    assert temp_files(tmp_path) == []


async def test_missing_quality_warns_once_and_starts_when_it_appears(
    sim_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = sim_config(sim_cache, [ChannelConfig("rec3", ["source", "480p"], history=3)])
    async with Simulator(config) as sim:
        sim.add_fault(Fault("missing_quality", channel="rec3", quality="480p"))
        with caplog.at_level(logging.WARNING):
            async with downloader(sim, tmp_path, ["rec3"], ["source", "480p"]):
                await until(lambda: any("480p not in" in r.getMessage() for r in caplog.records))
                await sim_wait(sim, 10)
                assert not stored(tmp_path, "rec3", "480p")
                sim.clear_faults()  # 480p appears; it is asked for again within 20 s
                await sim_wait(sim, 40)
                published = {q: sim.published("rec3", q) for q in ("source", "480p")}
                await sim_wait(sim, 6)
    warnings = [r for r in caplog.records if "480p not in the master playlist" in r.getMessage()]
    assert len(warnings) == 1
    assert_complete(sim, tmp_path, "rec3", "source", published["source"])
    # The playlist window (60 s) still held the early segments when 480p appeared.
    assert_complete(sim, tmp_path, "rec3", "480p", published["480p"])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_segment_and_playlist_failures(sim_cache: Path, tmp_path: Path) -> None:
    config = sim_config(sim_cache, [ChannelConfig("rec4", ["source"], history=2)])
    async with Simulator(config) as sim:
        sim.add_fault(Fault("segment_status", channel="rec4", sequence=8, status=404))
        sim.add_fault(Fault("segment_status", channel="rec4", sequence=9, status=403))
        sim.add_fault(
            Fault("playlist_status", channel="rec4", status=403, from_seconds=30, to_seconds=38)
        )
        sim.add_fault(
            Fault("playlist_status", channel="rec4", status=404, from_seconds=50, to_seconds=56)
        )
        sim.add_fault(Fault("endlist", channel="rec4", from_seconds=70, to_seconds=76))
        async with downloader(sim, tmp_path, ["rec4"], ["source"]):
            await sim_wait(sim, 100)
            published = sim.published("rec4", "source")
            await sim_wait(sim, 6)
        counters = sim.counters
    by_sequence = {s.sequence: s for s in published}
    files = stored(tmp_path, "rec4", "source")
    assert by_sequence[8].program_date_time not in files
    assert by_sequence[9].program_date_time not in files
    assert_complete(sim, tmp_path, "rec4", "source", published, allowed_missing={8, 9})
    assert counters["requests"]["usher"] >= 4  # start, after 403, after 404, after ENDLIST


def channel_up(channel: str) -> float | None:
    labels = {"channel": channel, "important": "true"}
    return REGISTRY.get_sample_value("streamvault_channel_up", labels)


async def test_offline_and_back_resumes_by_itself(sim_cache: Path, tmp_path: Path) -> None:
    config = sim_config(sim_cache, [ChannelConfig("rec9", ["source"], history=2)])
    async with Simulator(config) as sim, downloader(sim, tmp_path, ["rec9!"], ["source"]):
        await sim_wait(sim, 20)
        assert channel_up("rec9") == 1.0
        sim.set_online("rec9", False)
        broadcast_before = len(sim.published("rec9", "source"))
        await sim_wait(sim, 60)
        before = len(stored(tmp_path, "rec9", "source"))
        assert channel_up("rec9") == 0.0  # what the "stream down" alert watches
        sim.set_online("rec9", True)
        await sim_wait(sim, 40)
        assert channel_up("rec9") == 1.0
        published = sim.published("rec9", "source")
        await sim_wait(sim, 6)
    assert before <= broadcast_before  # nothing appears while the channel is offline
    assert len(published) >= 25
    assert_complete(sim, tmp_path, "rec9", "source", published)


async def test_url_type_master_and_media(sim_cache: Path, tmp_path: Path) -> None:
    config = sim_config(sim_cache, [ChannelConfig("rec13", ["source", "480p"], history=3)])
    async with Simulator(config) as sim:
        source = TwitchSource("rec13", sim.base_url, sim.base_url)
        async with aiohttp.ClientSession() as session:
            media = await source.media_playlists(session, SystemClock(), ["source"])
        media_url = media["source"]
        assert media_url is not None
        from streamvault.sources import twitch

        token = twitch.parse_token(await _gql(sim))
        assert token is not None
        master_url = twitch.usher_url(sim.base_url, "rec13", token)
        specs = [
            ChannelSpec("plainmaster", type="url", url=master_url),
            ChannelSpec("plainmedia", type="url", url=media_url),
        ]
        store = SegmentStore(str(tmp_path))
        async with Downloader(store, specs, ["source", "480p"], clock=sim.clock):
            await sim_wait(sim, 40)
            published = sim.published("rec13", "source")
            await sim_wait(sim, 6)
    for name in ("plainmaster", "plainmedia"):
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["source"]
        assert_complete(sim, tmp_path, name, "source", published, sim_channel="rec13")


async def _gql(sim: Simulator) -> str:
    import json

    from streamvault.sources.twitch import gql_body, gql_headers

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sim.base_url}/gql", data=json.dumps(gql_body("rec13")), headers=gql_headers()
        ) as response,
    ):
        return await response.text()


async def test_https_with_ca_file_and_a_node_prefix(sim_cache: Path, tmp_path: Path) -> None:
    config = sim_config(sim_cache, [ChannelConfig("rec15", ["source"], history=3)], tls=True)
    async with Simulator(config) as sim:
        assert sim.base_url.startswith("https://") and sim.ca_file is not None
        sim.add_fault(Fault("segment_status", channel="rec15", sequence=4, status=404, node="b"))
        context = ssl.create_default_context(cafile=sim.ca_file)
        base = f"{sim.base_url}/node/b"
        recorder = Downloader(
            SegmentStore(str(tmp_path)),
            [ChannelSpec("rec15")],
            ["source"],
            clock=sim.clock,
            gql_url=base,
            usher_url=base,
            ssl_context=context,
        )
        async with recorder:
            await sim_wait(sim, 30)
            published = sim.published("rec15", "source")
            await sim_wait(sim, 4)
        by_node = sim.counters["requests_by_node"]
    assert by_node.get("b", 0) > 10 and by_node.get("default", 0) == 0
    # The fault only exists under /node/b: proof that every request went there.
    assert_complete(sim, tmp_path, "rec15", "source", published, allowed_missing={4})
    assert {s.sequence for s in published} - {4} and not stored(tmp_path, "rec15", "source").get(
        published[4].program_date_time
    )
