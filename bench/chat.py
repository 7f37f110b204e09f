"""Benchmark: chat messages per second one archiver keeps up with, and a day's merge (issue 20).

    .venv/bin/python bench/chat.py [--messages 200000] [--merge-rate 1] [--parts throughput,merge]

throughput: ``streamvault chat`` runs in its own process (pinned to core 0 with ``taskset`` when
there are two cores) against the simulator's chat server in this process, which sends
``--messages`` of the sim's script (PRIVMSGs with tags, sub notices, deletions, JOIN/PARTs) as
fast as the socket takes them. The time from the first byte sent to the archiver's metrics
counting the last message gives messages/s; the archiver's CPU time over the same span gives
CPU seconds per million messages and messages per CPU-second (what one whole core would keep up
with, even when this loaded machine shares it). Printed against the 20,000 messages/s target
and against 1,000/s, the peak of the busiest Twitch channels. Then SIGTERM: the time to write
every batch and exit.

merge: a day of 60 s batches from three nodes (each missed 3 % of the messages, and timed the
untimed ones differently), at ``--merge-rate`` messages per second, written as three files per
minute; then one merge pass folds them into one file per minute. Prints its time against the
day it covers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from tests.helpers import polled

from streamvault.chat.store import ChatStore
from streamvault.clock import SystemClock
from streamvault.sim.chat_script import ChatScript
from streamvault.sim.chat_server import ChatServer

TARGET = 20_000.0
PEAK = 1_000.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


async def kept(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(url) as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("streamvault_chat_messages_total{")
    )


async def throughput(count: int) -> None:
    server = ChatServer(SystemClock(), ["alpha"], rate=1e-9)  # the script stays quiet
    await server.start()
    script = server.scripts["alpha"]
    now = time.time()
    lines = [script.event(10**9 + i, now + i / 1e4).line for i in range(count)]
    payload = b"".join(lines)
    base = tempfile.mkdtemp(prefix="streamvault-bench-chat-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "streamvault", "chat", "--base-dir", base, "--irc-host",
        "127.0.0.1", "--irc-port", str(server.port), "--no-tls", "--node-name", "bench",
        "--metrics-port", str(port), "--log-level", "WARNING", "alpha",
    ]  # fmt: skip
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "0", *command]
    process = await asyncio.create_subprocess_exec(*command)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        if not await polled(lambda: bool(server.subscribers("alpha")), 60, 0.05):
            raise SystemExit("the archiver did not join the channel")
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await kept(session, url)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            cpu0, t0 = cpu_seconds(process.pid), time.monotonic()
            for i in range(0, len(payload), 1 << 20):
                server.inject("alpha", payload[i : i + (1 << 20)])
                await asyncio.sleep(0)

            async def all_kept() -> bool:
                return await kept(session, url) >= count

            if not await polled(all_kept, 600, 0.25):
                raise SystemExit("the archiver did not keep every message in 10 minutes")
            wall, cpu = time.monotonic() - t0, cpu_seconds(process.pid) - cpu0
        t1 = time.monotonic()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 300)
        stop = time.monotonic() - t1
    finally:
        if process.returncode is None:
            process.kill()
        await server.stop()
    files = sum(len(names) for _, _, names in os.walk(base))
    shutil.rmtree(base, ignore_errors=True)
    rate, per_cpu = count / wall, count / cpu
    print(f"throughput: {count} messages in {wall:.2f} s wall, {cpu:.2f} CPU s of the archiver")
    print(f"  {rate:,.0f} messages/s = {rate / TARGET:.2f}x the 20,000/s target, "
          f"{rate / PEAK:.0f}x a busy channel's 1,000/s peak")  # fmt: skip
    print(f"  {per_cpu:,.0f} messages per archiver CPU-second = {per_cpu / TARGET:.2f}x target; "
          f"{cpu / count * 1e6:.1f} CPU s per million messages")  # fmt: skip
    print(f"  stop (write {files} batch files, exit): {stop:.2f} s")


def day_of_batches(base: str, rate: float) -> int:
    """Three nodes' batch files for a day of chat at ``rate`` messages/s; returns messages."""
    store = ChatStore(base)
    start = 1_796_083_200.0  # 2026-12-01T00:00:00Z
    script = ChatScript("alpha", start, rate)
    messages = [_message(script, k) for k in range(int(86400 * rate))]
    rng = random.Random(1)
    for node in ("a", "b", "c"):
        copies = []
        for message in messages:
            if rng.random() < 0.03:
                continue
            copy = dict(message, receivers={node: message["time"] + rng.random()})
            if copy["time_range"]:
                shift = rng.randrange(0, 8)  # each node estimates untimed messages its own way
                copy["time"], copy["time_range"] = copy["time"] - shift, copy["time_range"] + 1
            copies.append(copy)
        store.write("alpha", copies)
    return len(messages)


def _message(script: ChatScript, k: int) -> dict[str, Any]:
    from streamvault.chat.irc import parse_line
    from streamvault.chat.messages import TimeEstimator, to_record

    event = script.event(k)
    message = parse_line(event.line.rstrip(b"\r\n").decode())
    time_, time_range = TimeEstimator().estimate(message, event.deliver_at)
    if not time_range:
        return to_record(message, "x", event.at, time_, time_range)
    return to_record(message, "x", event.at, event.at - 5, 10)


def merge(rate: float) -> None:
    base = tempfile.mkdtemp(prefix="streamvault-bench-merge-")
    try:
        t0 = time.monotonic()
        count = day_of_batches(base, rate)
        made = time.monotonic() - t0
        store = ChatStore(base)
        cpu0, t0 = time.process_time(), time.monotonic()
        merges = store.merge_duplicates("alpha")
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
        files = sum(len(names) for _, _, names in os.walk(base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"merge: a day at {rate:g} messages/s from 3 nodes ({count:,} messages each, "
          f"written in {made:.1f} s)")  # fmt: skip
    print(f"  {merges} batch times merged in {wall:.1f} s wall, {cpu:.1f} CPU s; {files} files "
          f"left; {86400 / wall:,.0f}x faster than the day it covers, "
          f"{3 * count / cpu:,.0f} message copies per CPU-second")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--merge-rate", type=float, default=1.0)
    parser.add_argument("--parts", default="throughput,merge")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if "throughput" in parts:
        asyncio.run(throughput(args.messages))
    if "merge" in parts:
        merge(args.merge_rate)


if __name__ == "__main__":
    main()
