"""`streamvault chat` as a process, and `chat = true` in a node, against the simulator."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from streamvault.clock import SystemClock
from streamvault.node.config import NodeConfig
from streamvault.node.runtime import Node
from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.sim.chat_server import ChatServer
from streamvault.sim.emotes import emotes_url
from tests.helpers import METRICS_PORT, Child

from .chathelp import archive, counts, wait_until


def counts_by_command(base: Path) -> set[str]:
    return {m["command"] for m in archive(base)[1]}


async def _kept(url: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("streamvault_chat_messages_total{")
    )


async def test_chat_command_archives_and_flushes_everything_on_sigterm(tmp_path: Path) -> None:
    server = ChatServer(SystemClock(), ["alpha"], rate=40.0)
    await server.start()
    child = await Child.start(
        "chat", "--base-dir", str(tmp_path),
        "--irc-host", "127.0.0.1", "--irc-port", str(server.port), "--no-tls",
        "--node-name", "node-x", "--metrics-port", "0", "alpha",
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{await child.port(METRICS_PORT)}/metrics"
        await wait_until(lambda: len(server.sent["alpha"]) >= 60)
        server.paused = True
        sent = list(server.sent["alpha"])
        kept = 0.0
        while kept < len(sent):  # the archiver has counted every message it was sent
            kept = await _kept(url)
            await asyncio.sleep(0.1)
        assert await child.stop(signal.SIGTERM, 30) == 0, child.output()[-3000:]
    finally:
        await child.stop(signal.SIGKILL)
        await server.stop()
    _, messages = archive(tmp_path)  # batches of the last minutes, written at stop
    found = counts(messages)
    assert {k: found[k] for k in sent if found[k] != 1} == {}
    assert all(m["receivers"].keys() == {"node-x"} for m in messages)


async def test_node_with_chat_archives_the_sims_chat_its_emotes_and_serves_it(
    tmp_path: Path,
) -> None:
    config = SimConfig(channels=[ChannelConfig("alpha", ["source"])], time_scale=20.0,
                       chat_port=0, chat_rate=5.0)  # fmt: skip
    async with Simulator(config) as sim:
        assert sim.chat is not None
        node_config = NodeConfig(
            base_dir=str(tmp_path), channels=["alpha"], host="127.0.0.1", port=0,
            downloader=False, backfiller=False, coverage=False,
            chat=True, irc_host="127.0.0.1", irc_port=sim.chat.port, irc_tls=False,
            node_name="node-a", emotes=True, emotes_url=emotes_url(sim.base_url),
        )  # fmt: skip
        async with Node(node_config, clock=sim.clock) as node:
            assert node.chat is not None
            await node.chat.wait_joined()
            # a batch of PRIVMSGs has closed (the first files may hold only early JOINs)
            await wait_until(lambda: "PRIVMSG" in counts_by_command(tmp_path), timeout=60)
            _, messages = archive(tmp_path)
            times = sorted(m["time"] for m in messages)
            start, end = sim.clock.now().timestamp() - 600, sim.clock.now().timestamp()
            params = {
                "start": datetime.fromtimestamp(start, UTC).isoformat(),
                "end": datetime.fromtimestamp(end, UTC).isoformat(),
            }
            url = f"{node.url}/alpha/chat.json"
            async with aiohttp.ClientSession() as session, session.get(url, params=params) as r:
                assert r.status == 200
                served = await r.json()
            served_ids = {m["tags"]["id"] for m in served if m["tags"] and "id" in m["tags"]}
            written_ids = {m["tags"]["id"] for m in messages if m["tags"] and "id" in m["tags"]}
            assert written_ids and written_ids <= served_ids  # every message of the closed batches
            assert times and all(m["receivers"].keys() == {"node-a"} for m in served)
            # emote 25 (in every 4th message's emotes tag) fetched once, every theme and scale
            emote_dir = tmp_path / "emotes" / "25"
            names = {f"{t}-{s}" for t in ("light", "dark") for s in ("1.0", "2.0", "3.0")}
            await wait_until(lambda: emote_dir.is_dir() and set(os.listdir(emote_dir)) >= names)
            assert set(os.listdir(emote_dir)) == names
            assert (emote_dir / "dark-2.0").read_bytes().startswith(b"\x89PNG")
            assert node.chat.emotes is not None and node.chat.emotes.fetched == 6
            # the chat runs in step with the video: an offline channel says nothing
            sim.set_online("alpha", False)
            quiet, feed = len(sim.chat.sent["alpha"]), sim.chat.feeds["alpha"]
            scripted = feed.next_index
            await wait_until(lambda: feed.next_index > scripted + 50)  # the script ran on
            assert len(sim.chat.sent["alpha"]) == quiet
