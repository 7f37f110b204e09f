"""Benchmark: segment requests per second the simulator serves on one core (issue 3).

    .venv/bin/python bench/sim.py [--duration 5] [--concurrency 32] [--modes small,realistic,tls]

``streamvault sim`` runs in its own process, pinned to core 0 with ``taskset`` when present;
this process (pinned to another core when there is one) fetches the live playlist once and
then hammers the segment URLs from ``--concurrency`` keep-alive connections for about
``--duration`` seconds with ``curl --parallel`` (or, with ``--client aiohttp``, from this
process). Modes: ``small`` (the test-size video), ``realistic`` (``--realistic-bitrate``,
about 1.5 MB per 2 s segment) and ``tls`` (realistic over HTTPS).
Prints requests/s, MB/s and the ratio to the 300 requests/s target, and how busy the sim's
process was (CPU seconds per wall second), so "requests per sim CPU-second" gives the rate one
whole core would serve even when the client or other load on the machine is what limits the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import ssl
import sys
import tempfile
import time

import aiohttp

TARGET = 300.0
CURL = "/usr/bin/curl"
CLIENT_ID = "kimne78kx3ncx6brgo4mv6wki5h1ko"
HASH = "ed230aa1e33e07eebb8928504583da78a5173989fadfb1ac94be06a04f3cdbe9"


async def start_sim(mode: str, cache: str) -> tuple[asyncio.subprocess.Process, str, str | None]:
    command = [
        sys.executable, "-m", "streamvault", "sim", "--port", "0", "--channels", "alpha",
        "--qualities", "source", "--history", "30", "--cache-dir", cache, "--log-level", "WARNING",
    ]  # fmt: skip
    if mode in ("realistic", "tls"):
        command.append("--realistic-bitrate")
    if mode == "tls":
        command.append("--tls")
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "0", *command]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, env=os.environ | {"PYTHONUNBUFFERED": "1"}
    )
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    flags = (await process.stdout.readline()).decode()
    ca = re.search(r"--ca-file (\S+)", flags)
    return process, first.split()[-1], ca.group(1) if ca else None


async def segment_urls(session: aiohttp.ClientSession, base: str) -> list[str]:
    query = {
        "operationName": "PlaybackAccessToken",
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASH}},
        "variables": {"isLive": True, "login": "alpha", "isVod": False, "vodID": "",
                      "playerType": "embed", "platform": "site"},
    }  # fmt: skip
    async with session.post(f"{base}/gql", json=query, headers={"Client-ID": CLIENT_ID}) as r:
        token = (await r.json())["data"]["streamPlaybackAccessToken"]
    params = {"token": token["value"], "sig": token["signature"], "allow_source": "true"}
    async with session.get(f"{base}/api/channel/hls/alpha.m3u8", params=params) as response:
        master = await response.text()
    media_url = next(line for line in master.splitlines() if line.startswith("http"))
    async with session.get(media_url) as response:
        media = await response.text()
    return [line for line in media.splitlines() if line.startswith("http")]


async def hammer(
    session: aiohttp.ClientSession, urls: list[str], duration: float, concurrency: int
) -> tuple[int, int, float]:
    deadline = time.perf_counter() + duration
    counts = [0, 0]

    async def worker(offset: int) -> None:
        index = offset
        while time.perf_counter() < deadline:
            async with session.get(urls[index % len(urls)]) as response:
                body = await response.read()
                if response.status != 200 or not body:
                    raise RuntimeError(f"bad answer {response.status} ({len(body)} bytes)")
            counts[0] += 1
            counts[1] += len(body)
            index += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return counts[0], counts[1], time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to tell whether the sim's core was busy."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def curl_hammer(
    urls: list[str], duration: float, concurrency: int, ca_file: str | None, guess: float
) -> tuple[int, int, float]:
    """``curl --parallel`` over about ``duration`` seconds' worth of requests (by ``guess``/s)."""
    count = max(concurrency, int(guess * duration))
    with tempfile.NamedTemporaryFile("w", suffix=".curl") as config:
        for i in range(count):
            config.write(f'url = "{urls[i % len(urls)]}"\noutput = "/dev/null"\n')
        config.flush()
        command = [CURL, "-sSf", "--no-progress-meter", "--parallel", "--parallel-max",
                   str(concurrency), "-w", "%{size_download}\n", "-K", config.name]  # fmt: skip
        if ca_file:
            command += ["--cacert", ca_file]
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
        output, _ = await process.communicate()
        elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"curl failed with {process.returncode}")
    sizes = [int(line) for line in output.split()]
    return len(sizes), sum(sizes), elapsed


async def measure(
    args: argparse.Namespace, process: asyncio.subprocess.Process, base: str, ca_file: str | None
) -> tuple[int, int, float, float]:
    """(requests, bytes, seconds, sim CPU share) of one measured run."""
    context: ssl.SSLContext | bool = True
    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
    connector = aiohttp.TCPConnector(limit=args.concurrency, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:
        urls = await segment_urls(session, base)
        warm = await hammer(session, urls, 1.0, args.concurrency)  # caches and the pool
        cpu = cpu_seconds(process.pid)
        if args.client == "curl":
            guess = warm[0] / warm[2]
            result = await curl_hammer(urls, args.duration, args.concurrency, ca_file, guess)
        else:
            result = await hammer(session, urls, args.duration, args.concurrency)
    busy = (cpu_seconds(process.pid) - cpu) / result[2]
    return (*result, busy)


async def run_mode(mode: str, args: argparse.Namespace, cache: str) -> float:
    process, base, ca_file = await start_sim(mode, cache)
    try:
        requests, size, elapsed, busy = await measure(args, process, base, ca_file)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    rate = requests / elapsed
    print(
        f"{mode:>9}: {rate:8.0f} segment requests/s  {size / elapsed / 1e6:8.1f} MB/s  "
        f"({size / max(1, requests) / 1e6:.3f} MB each)  ratio to {TARGET:.0f}/s target: "
        f"{rate / TARGET:.2f}x  (sim core {busy:.0%} busy: {rate / busy:.0f} requests per "
        f"sim CPU-second, {rate / busy / TARGET:.2f}x target)",
        flush=True,
    )
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--modes", default="small,realistic,tls")
    parser.add_argument(
        "--client",
        choices=("curl", "aiohttp"),
        default="curl" if await asyncio.to_thread(os.path.exists, CURL) else "aiohttp",
        help="curl costs the client far less CPU per request, so it loads the sim harder",
    )
    args = parser.parse_args()
    if (os.cpu_count() or 1) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})  # the client stays off the sim's core
    print(f"sim pinned to core 0: {bool(shutil.which('taskset'))}; {args.client} on core 1")
    with tempfile.TemporaryDirectory(prefix="sim-bench-") as cache:
        for mode in args.modes.split(","):
            await run_mode(mode, args, cache)


if __name__ == "__main__":
    asyncio.run(main())
