"""The demo: a simulated Twitch, two nodes that each miss different segments, and the backfill
making both archives whole. Offline, no set-up; nodes run as real ``streamvault node``
processes so the demo shows exactly what an operator would run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from ..sim import ChannelConfig, Fault, SimConfig, Simulator
from ..store.disk import SegmentStore
from ..store.naming import Segment
from ..timeutil import format_iso
from .archive_check import ArchiveVerdict, check_archives

CHANNEL = "demo"
QUALITIES = ["source", "480p"]
SEGMENT = 2.0
RECENT_CUTOFF = 8.0  # the backfill leaves younger segments to the local downloader


@dataclass
class DemoNode:
    name: str
    base_dir: str
    port: int
    log_path: str
    process: asyncio.subprocess.Process | None = None
    worst_holes: int = 0
    worst_missing: float = 0.0
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def segments(self) -> list[Segment]:
        store = SegmentStore(self.base_dir)
        return [
            segment
            for quality in store.qualities(CHANNEL)
            for hour in store.hours(CHANNEL, quality)
            for segment in store.segments(CHANNEL, quality, hour).segments
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_dir(data_dir: str | None) -> str:
    if data_dir is None:
        return tempfile.mkdtemp(prefix="streamvault-demo-")
    os.makedirs(data_dir, exist_ok=True)
    if any(os.scandir(data_dir)):
        raise SystemExit(
            f"streamvault demo: {data_dir} is not empty; give an empty or new directory"
        )
    return data_dir


def schedule_faults(sim: Simulator, first: int, count: int) -> list[str]:
    """Different faults per node at different moments, so each misses what the other has."""

    def at(fraction: float) -> int:
        return first + max(2, int(count * fraction))

    plan = [
        ("a", "source", Fault("segment_status", CHANNEL, "source", "a", status=404,
                              from_sequence=at(0.2), to_sequence=at(0.2) + 1)),
        ("a", "480p", Fault("segment_status", CHANNEL, "480p", "a", status=404, sequence=at(0.6))),
        ("b", "source", Fault("reset_mid_body", CHANNEL, "source", "b", sequence=at(0.4))),
        ("b", "source", Fault("segment_status", CHANNEL, "source", "b", status=404,
                              sequence=at(0.5))),
        ("b", "480p", Fault("empty_body", CHANNEL, "480p", "b", sequence=at(0.3))),
    ]  # fmt: skip
    lines = []
    for node, quality, fault in plan:
        sim.add_fault(fault)
        span = (
            fault.sequence
            if fault.sequence is not None
            else f"{fault.from_sequence}-{fault.to_sequence}"
        )
        lines.append(f"node {node} {quality}: {fault.kind.replace('_', ' ')} "
                     f"{fault.status or ''} at segment {span}".replace("  ", " "))  # fmt: skip
    return lines


async def start_node(node: DemoNode, peer: DemoNode, sim_url: str) -> None:
    prefix = f"{sim_url}/node/{node.name}"
    args = [
        "-m", "streamvault", "node", "--channel", CHANNEL, "--qualities", ",".join(QUALITIES),
        "--base-dir", node.base_dir, "--host", "127.0.0.1", "--port", str(node.port),
        "--twitch-gql-url", prefix, "--twitch-usher-url", prefix,
        "--node", peer.url, "--localhost", node.url, "--recent-cutoff", str(RECENT_CUTOFF),
        "--coverage-node", f"{node.name}={node.url}", "--coverage-node", f"{peer.name}={peer.url}",
    ]  # fmt: skip
    log = await asyncio.to_thread(open, node.log_path, "ab")  # handed to the child process
    env = {**os.environ, "STREAMVAULT_BACKFILL_INTERVAL": "2", "STREAMVAULT_COVERAGE_INTERVAL": "5"}
    node.process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=log, stderr=log, env=env
    )
    log.close()


async def wait_healthy(http: aiohttp.ClientSession, node: DemoNode, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{node.url}/files") as response:
                if response.status == 200:
                    return
        if node.process is not None and node.process.returncode is not None:
            raise SystemExit(f"node {node.name} exited; see {node.log_path}")
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"node {node.name} did not come up; see {node.log_path}")
        await asyncio.sleep(0.2)


async def coverage(
    http: aiohttp.ClientSession, node: DemoNode, quality: str, start: datetime, end: datetime
) -> dict[str, Any]:
    url = f"{node.url}/coverage/{CHANNEL}/{quality}.json"
    params = {"start": format_iso(start), "end": format_iso(end)}
    with contextlib.suppress(aiohttp.ClientError, ValueError):
        async with http.get(url, params=params) as response:
            if response.status == 200:
                data: dict[str, Any] = await response.json()
                return data
    return {}


async def status_line(
    http: aiohttp.ClientSession, nodes: list[DemoNode], start: datetime, end: datetime
) -> str:
    parts = []
    for node in nodes:
        holes, missing = 0, 0.0
        for quality in QUALITIES:
            data = await coverage(http, node, quality, start, end)
            holes += int(data.get("hole_count", 0))
            missing += float(data.get("hole_duration", 0.0))
        node.worst_holes = max(node.worst_holes, holes)
        node.worst_missing = max(node.worst_missing, missing)
        node.last = {"holes": holes, "missing": missing}
        parts.append(f"node {node.name}: {holes} holes ({missing:.1f} s missing)")
    return " | ".join(parts)


def broadcast(sim: Simulator) -> dict[str, set[str]]:
    return {q: {p.data_hash for p in sim.published(CHANNEL, q) if not p.is_ad} for q in QUALITIES}


async def run_demo(
    duration: float | None, data_dir: str | None, say: Callable[[str], None] = print
) -> int:
    root = prepare_dir(data_dir)
    logging.getLogger("streamvault.sim").setLevel(logging.WARNING)
    say(f"streamvault demo: data in {root}")
    say("rendering the simulated stream's test video with ffmpeg (once, then cached) ...")
    config = SimConfig(
        channels=[ChannelConfig(CHANNEL, QUALITIES, history=3)], segment_duration=SEGMENT
    )
    async with Simulator(config) as sim, aiohttp.ClientSession() as http:
        timeline = sim.channel(CHANNEL)
        assert timeline is not None
        first = sim.live_sequence(timeline)
        count = int((duration or 120) / SEGMENT)
        for line in schedule_faults(sim, first, count):
            say(f"  fault: {line}")
        a, b = (
            DemoNode(name, os.path.join(root, f"node-{name}"), free_port(),
                     os.path.join(root, f"node-{name}.log"))
            for name in ("a", "b")
        )  # fmt: skip
        nodes = [a, b]
        try:
            await start_node(a, b, sim.base_url)
            await start_node(b, a, sim.base_url)
            for node in nodes:
                await wait_healthy(http, node)
            stream_start = timeline.start_of(0)
            say_urls(say, nodes, sim, stream_start)
            return await watch(http, sim, nodes, stream_start, duration, say)
        finally:
            await asyncio.gather(*(stop_node(node) for node in nodes))


def say_urls(
    say: Callable[[str], None], nodes: list[DemoNode], sim: Simulator, start: datetime
) -> None:
    a = nodes[0]
    clip_start = start + timedelta(seconds=10)
    say(f"simulated Twitch: {sim.base_url}")
    for node in nodes:
        say(f"node {node.name}: {node.url}  (log: {node.log_path})")
    say(f"watch live:     {a.url}/playlist/{CHANNEL}.m3u8   (e.g. ffplay or VLC)")
    say(f"cut a clip:     {a.url}/cut/{CHANNEL}/source.ts?start={format_iso(clip_start)}"
        f"&end={format_iso(clip_start + timedelta(seconds=8))}&type=smart")  # fmt: skip
    say(f"coverage maps:  {a.url}/coverage-maps/{CHANNEL}_source_coverage.html")
    say(f"coverage JSON:  {a.url}/coverage/{CHANNEL}/source.json")


async def watch(
    http: aiohttp.ClientSession, sim: Simulator, nodes: list[DemoNode], stream_start: datetime,
    duration: float | None, say: Callable[[str], None],
) -> int:  # fmt: skip
    loop = asyncio.get_running_loop()
    began = loop.time()
    while duration is None or loop.time() - began < duration:
        await asyncio.sleep(3)
        end = sim.clock.now() - timedelta(seconds=2 * SEGMENT)
        say(f"[{loop.time() - began:5.0f} s] " + await status_line(http, nodes, stream_start, end))
    # End the broadcast as Twitch does: the media playlists close with #EXT-X-ENDLIST (so the
    # downloaders still fetch the last segments), then the channel goes offline.
    final = broadcast(sim)
    sim.add_fault(Fault("endlist", CHANNEL))
    await asyncio.sleep(3 * SEGMENT)
    sim.set_online(CHANNEL, False)
    say("stream ended; waiting for the backfill to finish ...")
    end = stream_start + timedelta(seconds=SEGMENT * len(sim.published(CHANNEL, "source")))
    worst = {node.name: (node.worst_holes, node.worst_missing) for node in nodes}
    verdict = ArchiveVerdict()
    deadline = loop.time() + RECENT_CUTOFF + 60
    while loop.time() < deadline:
        await asyncio.sleep(2)
        verdict = check_archives(final, {n.name: n.segments() for n in nodes})
        if verdict.ok:
            break
    await status_line(http, nodes, stream_start, end)
    say("coverage of the whole broadcast, before and after backfill:")
    for node in nodes:
        holes, missing = worst[node.name]
        now_holes, now_missing = node.last["holes"], node.last["missing"]
        say(f"  node {node.name}: at worst {holes} holes ({missing:.1f} s missing) "
            f"-> now {now_holes} holes ({now_missing:.1f} s missing)")  # fmt: skip
    published = sum(len(v) for v in final.values())
    if verdict.ok:
        say(f"OK: both nodes hold identical, complete archives ({published} segments broadcast).")
        return 0
    for line in verdict.lines():
        say(f"FAILED: {line}")
    return 1


async def stop_node(node: DemoNode) -> None:
    process = node.process
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 40)
    except TimeoutError:
        process.kill()
        await process.wait()
