"""`streamvault node` end to end against the simulator."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from streamvault.node.runtime import Node
from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import is_temp_name

from .simnode import sim_node_config


async def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def stored_hashes(base: Path, channel: str, quality: str) -> set[str]:
    store = SegmentStore(str(base))
    return {
        s.hash
        for hour in store.hours(channel, quality)
        for s in store.segments(channel, quality, hour).segments
    }


async def test_node_records_serves_and_has_a_console(tmp_path: Path) -> None:
    config = SimConfig(channels=[ChannelConfig("alpha", ["source"], history=3)], time_scale=10.0)
    async with Simulator(config) as sim:
        node_config = sim_node_config(
            sim, tmp_path, console_port=0, coverage=True, coverage_interval=0.5
        )
        async with Node(node_config, clock=sim.clock) as node:
            await wait_for(lambda: len(stored_hashes(tmp_path, "alpha", "source")) >= 5)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{node.url}/files/alpha/source") as response:
                    assert response.status == 200
                    hours = await response.json()
                assert hours
                async with http.get(f"{node.url}/metrics") as response:
                    text = await response.text()
                assert "streamvault_latest_segment" in text

            # The console: evaluate against live state, then leave; recording goes on.
            assert node.console is not None
            reader, writer = await asyncio.open_connection("127.0.0.1", node.console.port)
            banner = await reader.readuntil(b">>> ")
            assert b"workers" in banner
            writer.write(b"workers()\n")
            answer = await reader.readuntil(b">>> ")
            assert b"alpha/source: 1 worker(s)" in answer
            writer.write(b"set_log_level('DEBUG', 'streamvault.console.test')\n")
            # (streamlink, imported by other tests, renames the levels to lower case)
            assert b"now debug" in (await reader.readuntil(b">>> ")).lower()
            writer.write(b"exit()\n")
            assert await reader.read() == b""
            writer.close()
            before = len(stored_hashes(tmp_path, "alpha", "source"))
            await wait_for(lambda: len(stored_hashes(tmp_path, "alpha", "source")) >= before + 3)
        published = {p.data_hash for p in sim.published("alpha", "source") if not p.is_ad}
        assert stored_hashes(tmp_path, "alpha", "source") <= published


async def test_node_command_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = SimConfig(channels=[ChannelConfig("alpha", ["source"], history=4)], time_scale=1.0)
    async with Simulator(config) as sim:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streamvault",
            "node",
            "--channel",
            "alpha",
            "--base-dir",
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--twitch-gql-url",
            sim.base_url,
            "--twitch-usher-url",
            sim.base_url,
            stdout=subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_for(lambda: len(stored_hashes(tmp_path, "alpha", "source")) >= 4, 60)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert b"node stopped" in stderr
    left = [name for _, _, names in os.walk(tmp_path) for name in names if is_temp_name(name)]
    assert left == []
