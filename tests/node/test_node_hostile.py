"""``streamvault node`` with a hostile peer beside a good one: the backfiller stays up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from tests.backfiller.hostile import deep_listing_app

from streamvault.node.config import NodeConfig
from streamvault.node.runtime import Node
from streamvault.restreamer.app import create_app
from streamvault.store.disk import SegmentStore


async def test_a_peer_sending_deep_json_leaves_the_node_backfilling(tmp_path: Path) -> None:
    good = SegmentStore(str(tmp_path / "good"))
    start = datetime.now(UTC) - timedelta(hours=1)
    wanted = {good.write_segment("ch", "source", start + timedelta(seconds=2 * i), 2.0,
                                 "full", b"seg %d" % i * 100).name for i in range(3)}  # fmt: skip
    servers = [
        TestServer(deep_listing_app(), host="127.0.0.1", port=0),
        TestServer(create_app(good.base_dir), host="127.0.0.1", port=0),
    ]
    for server in servers:
        await server.start_server()
    config = NodeConfig(
        base_dir=str(tmp_path / "node"),
        channels=["ch"],
        host="127.0.0.1",
        port=0,
        nodes=[str(s.make_url("")).rstrip("/") for s in servers],
        downloader=False,
        coverage=False,
    )
    mine = SegmentStore(config.base_dir)
    try:
        async with Node(config) as node, aiohttp.ClientSession() as session:
            deadline = asyncio.get_running_loop().time() + 30
            while {n for h in mine.hours("ch", "source")
                   for n in mine.segment_names("ch", "source", h)} != wanted:  # fmt: skip
                assert asyncio.get_running_loop().time() < deadline, "nothing copied"
                await asyncio.sleep(0.05)
            async with session.get(f"{node.url}/metrics") as response:
                metrics = await response.text()
            assert 'streamvault_component_up{component="backfiller"} 1.0' in metrics
    finally:
        for server in servers:
            await server.close()
