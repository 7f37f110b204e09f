"""What players see of a node fed by the simulator: the master playlist ranks and names the
qualities so that ``streamlink URL best`` opens the original (SPEC §5)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from streamvault.node.runtime import Node
from streamvault.sim import ChannelConfig, SimConfig, Simulator

from .simnode import sim_node_config
from .test_node import stored_hashes, wait_for

QUALITIES = ["source", "480p", "360p"]


def attributes(line: str) -> dict[str, str]:
    from streamlink.stream.hls.m3u8 import M3U8Parser

    return dict(M3U8Parser.parse_attributes(line.split(":", 1)[1]))


async def test_streamlink_best_is_source_and_variants_carry_what_players_choose_by(
    tmp_path: Path,
) -> None:
    from streamlink import Streamlink

    config = SimConfig(channels=[ChannelConfig("alpha", QUALITIES, history=3)], time_scale=10.0)
    async with Simulator(config) as sim:
        node_config = sim_node_config(sim, tmp_path, qualities=QUALITIES)
        async with Node(node_config, clock=sim.clock) as node:
            for quality in QUALITIES:
                await wait_for(lambda q=quality: len(stored_hashes(tmp_path, "alpha", q)) >= 2)
            url = f"{node.url}/playlist/alpha.m3u8"
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                assert response.status == 200
                text = await response.text()
            infs = [
                attributes(line)
                for line in text.splitlines()
                if line.startswith("#EXT-X-STREAM-INF")
            ]
            assert [inf["NAME"] for inf in infs] == QUALITIES
            heights = []
            for inf in infs:
                assert int(inf["BANDWIDTH"]) > 1000
                assert float(inf["FRAME-RATE"]) > 0
                assert inf["CODECS"].startswith("avc1.")
                heights.append(int(inf["RESOLUTION"].split("x")[1]))
            assert heights == sorted(heights, reverse=True)  # the sim's source is the largest
            names = [line for line in text.splitlines() if line.startswith("#EXT-X-MEDIA")]
            assert [attributes(line)["NAME"] for line in names] == QUALITIES

            streams = await asyncio.to_thread(Streamlink().streams, "hls://" + url)
            assert streams["best"].url.startswith(f"{node.url}/playlist/alpha/source.m3u8")
            # named by their size, as the sim renders them small: 180p60, 80p, 60p
            assert len(set(streams) - {"best", "worst"}) == len(QUALITIES)
