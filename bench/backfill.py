"""Benchmark: backfill catch-up throughput against curl, and replication lag (issue 5).

1. Catch-up: one hour of segments (default 1,800 of 1.5 MB) is written on node A, whose real
   restreamer runs in another process (``streamvault restream``). This process copies the hour
   with the backfiller (hash-checked, fsynced, renamed) and ``curl --parallel`` fetches the same
   URLs into a plain directory, in the same run. Target: backfill >= 0.5x curl's throughput.
2. Replication lag: segments are written on node A at stream pace (one every ``--pace`` s);
   node B runs ``streamvault backfill`` in another process; this process notes when each
   segment appears on B. p50 and p99, with the change feed and with polling alone
   (``--no-feed``, passes every ``--interval`` s). Target: p99 <= 5 s with the feed.
   B runs with ``--recent-cutoff 0``: with the default 60 s cut-off a segment the local
   downloader may still fetch is deliberately left alone for 60 s, feed or not.

    .venv/bin/python bench/backfill.py [--segments 1800] [--size-mb 1.5] [--lag-segments 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import aiohttp

from streamvault.backfiller.peers import PeerDiscovery
from streamvault.backfiller.service import Backfiller, Settings
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment

CURL = "/usr/bin/curl"
PARALLEL = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def restreamer(base_dir: str) -> Iterator[str]:
    """A real restreamer over ``base_dir`` in its own process; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "restream", "--base-dir", base_dir,
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("restreamer did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def write_hour(store: SegmentStore, count: int, size: int, hour_start: datetime) -> list[Segment]:
    payload = bytearray(os.urandom(size))
    segments = []
    for i in range(count):
        payload[:8] = i.to_bytes(8, "big")  # distinct bytes, distinct hashes
        start = hour_start + timedelta(seconds=2 * i)
        segments.append(store.write_segment("ch", "source", start, 2.0, "full", bytes(payload)))
    return segments


async def backfill_once(store: SegmentStore, url: str, concurrency: int) -> tuple[float, int]:
    settings = Settings(channels=("ch",), start=24.0, per_peer=concurrency)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        backfiller = Backfiller(store, settings, PeerDiscovery([url]), session)
        began = time.perf_counter()
        result = await backfiller.run_once()
        elapsed = time.perf_counter() - began
    if not result.ok:
        raise RuntimeError(f"backfill failed: {result.summary()}")
    return elapsed, result.copied


def curl_once(url: str, segments: list[Segment], out_dir: str) -> float:
    os.makedirs(out_dir, exist_ok=True)
    config = os.path.join(out_dir, "..", "curl.config")
    with open(config, "w") as f:
        for s in segments:
            f.write(f'url = "{url}/segments/{s.channel}/{s.quality}/{s.hour}/{s.name}"\n')
            f.write(f'output = "{os.path.join(out_dir, s.name)}"\n')
    began = time.perf_counter()
    subprocess.run(
        [
            CURL,
            "-s",
            "-S",
            "-f",
            "--no-progress-meter",
            "--parallel",
            "--parallel-max",
            str(PARALLEL),
            "-K",
            config,
        ],
        check=True,
    )
    return time.perf_counter() - began


def catch_up(work: str, count: int, size: int, rounds: int) -> None:
    source = SegmentStore(os.path.join(work, "a"))
    hour_start = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    print(f"catch-up: writing {count} segments of {size / 1e6:.2f} MB on node A ...", flush=True)
    segments = write_hour(source, count, size, hour_start)
    total = count * size
    ours: list[float] = []
    theirs: list[float] = []
    with restreamer(source.base_dir) as url:
        for n in range(rounds):
            target = os.path.join(work, f"b{n}")
            elapsed, copied = asyncio.run(backfill_once(SegmentStore(target), url, PARALLEL))
            assert copied == count, copied
            ours.append(elapsed)
            shutil.rmtree(target)
            curl_dir = os.path.join(work, f"curl{n}", "out")
            theirs.append(curl_once(url, segments, curl_dir))
            shutil.rmtree(os.path.dirname(curl_dir))
    best_ours, best_curl = min(ours), min(theirs)
    rate_ours, rate_curl = total / best_ours, total / best_curl
    ratio = rate_ours / rate_curl
    print(
        f"  backfill ({PARALLEL} at once, sha256 + fsync + rename): "
        f"{best_ours:6.2f} s  {rate_ours / 1e6:7.1f} MB/s  {count / best_ours:6.0f} segments/s"
    )
    print(
        f"  curl --parallel-max {PARALLEL} (no hash, no fsync):       "
        f"{best_curl:6.2f} s  {rate_curl / 1e6:7.1f} MB/s  {count / best_curl:6.0f} segments/s"
    )
    print(
        f"  ratio backfill/curl: {ratio:.2f}x   target >= 0.5x "
        f"({'OK' if ratio >= 0.5 else 'MISSED'})   best of {rounds} rounds"
    )


async def watch_lag(
    a: SegmentStore, b: SegmentStore, count: int, pace: float, size: int
) -> list[float]:
    """Write on A at ``pace``; return, per segment, seconds until it is on B."""
    written: dict[str, float] = {}
    arrived: dict[str, float] = {}
    payload = bytearray(os.urandom(size))

    async def writer() -> None:
        for i in range(count):
            payload[:8] = i.to_bytes(8, "big")
            segment = a.write_segment(
                "ch", "source", datetime.now(UTC), 2.0, "full", bytes(payload)
            )
            written[b.segment_path(segment)] = time.monotonic()
            await asyncio.sleep(pace)

    async def watcher() -> None:
        while len(arrived) < count:
            for path in list(written):
                if path not in arrived and await asyncio.to_thread(os.path.exists, path):
                    arrived[path] = time.monotonic()
            await asyncio.sleep(0.01)

    watch = asyncio.create_task(watcher())
    await writer()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch, timeout=120)
    missing = count - len(arrived)
    if missing:
        print(f"  {missing} segments never arrived")
    return [arrived[p] - written[p] for p in arrived]


def lag(work: str, count: int, pace: float, size: int, feed: bool, interval: float) -> None:
    a = SegmentStore(os.path.join(work, f"lag-a-{feed}"))
    b = SegmentStore(os.path.join(work, f"lag-b-{feed}"))
    os.makedirs(a.base_dir)
    with restreamer(a.base_dir) as url:
        args = [sys.executable, "-m", "streamvault", "backfill", "--base-dir", b.base_dir,
                "--channel", "ch", "--node", url, "--recent-cutoff", "0",
                "--interval", str(interval), "--log-level", "WARNING"]  # fmt: skip
        if not feed:
            args.append("--no-feed")
        node_b = subprocess.Popen(args)
        try:
            time.sleep(2.0)  # B is up, its feed followers hold a cursor
            lags = asyncio.run(watch_lag(a, b, count, pace, size))
        finally:
            node_b.send_signal(signal.SIGTERM)
            node_b.wait(10)
    lags.sort()
    p50 = statistics.median(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    mode = "change feed" if feed else f"polling only (passes every {interval:g} s)"
    verdict = f"   target p99 <= 5 s ({'OK' if p99 <= 5 else 'MISSED'})" if feed else ""
    print(
        f"  {mode:38s} p50 {p50:5.2f} s   p99 {p99:5.2f} s   max {lags[-1]:5.2f} s"
        f"   n={len(lags)}{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=1800)
    parser.add_argument("--size-mb", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lag-segments", type=int, default=40)
    parser.add_argument("--pace", type=float, default=2.0, help="seconds between segments on A")
    parser.add_argument("--interval", type=float, default=10.0, help="pass interval of B")
    parser.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    parser.add_argument("--skip-catch-up", action="store_true")
    parser.add_argument("--skip-lag", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="backfill-bench-", dir=args.dir)
    try:
        if not args.skip_catch_up:
            catch_up(work, args.segments, int(args.size_mb * 1e6), args.rounds)
        if not args.skip_lag:
            print(
                f"replication lag: {args.lag_segments} segments of {args.size_mb:g} MB, "
                f"one every {args.pace:g} s, B with --recent-cutoff 0",
                flush=True,
            )
            for feed in (True, False):
                lag(work, args.lag_segments, args.pace, int(args.size_mb * 1e6), feed,
                    args.interval)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
