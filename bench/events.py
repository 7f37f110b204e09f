"""Benchmark: the events API and the cutter (issue 18), each against its peer in the same run.

1. API requests per second, on SQLite and on PostgreSQL (a throwaway ``initdb`` cluster): a
   real ``streamvault restream`` process serves ``/api/events``; ``--clients`` concurrent
   clients ask for the list (``GET /api/events?limit=50``) and make updates (``PATCH`` with
   ``If-Match``, each client on its own event). Peer: the same work as SQL, run by ``sqlite3``
   and ``psql`` reading one script of those statements (the list's ``SELECT``; the update's
   ``UPDATE ... WHERE version = ?`` plus its history ``INSERT`` in one transaction). Printed:
   requests/s, statements/s, and their ratio (API / direct).
2. Cutter throughput for 1-minute ``fast`` cuts: events per minute of ``Cutter.run_once``
   (claim, cut, write atomically, mark DONE) against ffmpeg making the same cuts by hand
   (``-ss``/``-t`` over the concat demuxer, re-encoded with the same x264 settings so the cut
   is exact like ``fast``'s), one after another in the same run.

   Also against ``-c copy`` by hand: faster still, but its cut lands on keyframes, not on the
   asked times.

    .venv/bin/python bench/events.py [--seconds 5] [--clients 8] [--cuts 4] [--only api|cutter]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.pgserver import PostgresServer

from streamvault.cutjobs.output import LocalOutput
from streamvault.cutjobs.service import Cutter, Settings
from streamvault.events.store import EventStore
from streamvault.ffmpeg import ffmpeg_exe
from streamvault.restreamer.archive import Archive
from streamvault.store.disk import SegmentStore
from streamvault.timeutil import format_iso

T0 = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)
SEEDED = 1000


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def event_body(n: int) -> dict[str, Any]:
    start = T0 + timedelta(minutes=n)
    return {
        "channel": "desertbus",
        "title": f"moment {n}",
        "description": "x" * 200,
        "tags": ["bench", f"t{n % 10}"],
        "ranges": [{"start": format_iso(start), "end": format_iso(start + timedelta(seconds=30))}],
    }


async def seed(url: str) -> list[int]:
    store = await EventStore.connect(url)
    try:
        return [(await store.create(event_body(n), "bench"))["id"] for n in range(SEEDED)]
    finally:
        await store.close()


async def wait_up(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.returncode is not None:
                raise SystemExit("the restreamer exited")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the restreamer did not come up")


async def api_rate(base: str, ids: list[int], clients: int, seconds: float, kind: str) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(http: aiohttp.ClientSession, index: int) -> None:
        nonlocal done
        event_id = ids[index]
        version = 1
        async with http.get(f"{base}/api/events/{event_id}") as response:
            version = (await response.json())["version"]
        while time.perf_counter() < deadline:
            if kind == "list":
                async with http.get(f"{base}/api/events?limit=50") as response:
                    assert response.status == 200
                    await response.read()
            else:
                headers = {"If-Match": f'"{version}"'}
                body = {"title": f"edit {version}"}
                async with http.patch(
                    f"{base}/api/events/{event_id}", json=body, headers=headers
                ) as response:
                    assert response.status == 200, await response.text()
                    version = (await response.json())["version"]
            done += 1

    began = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http, i) for i in range(clients)))
    return done / (time.perf_counter() - began)


LIST_SQL = "SELECT * FROM events ORDER BY id DESC LIMIT 51;\n"


def update_sql(event_id: int, version: int, now: str) -> str:
    return (
        "BEGIN;\n"
        f"UPDATE events SET title = 'edit {version}', version = {version + 1}, "
        f"updated = '{now}' WHERE id = {event_id} AND version = {version};\n"
        "INSERT INTO event_history (event_id, at, who, action, version, changes) VALUES "
        f"({event_id}, '{now}', 'bench', 'update', {version + 1}, "
        f'\'{{"title": {{"old": "a", "new": "b"}}}}\');\n'
        "COMMIT;\n"
    )


def direct_rate(command: list[str], kind: str, ids: list[int], count: int) -> float:
    now = "2026-12-01 00:00:00"
    if kind == "list":
        script = LIST_SQL * count
    else:
        versions = dict.fromkeys(ids, 10_000)  # past the API's versions: a fresh row of ours
        parts = []
        for n in range(count):
            event_id = ids[n % len(ids)]
            parts.append(update_sql(event_id, versions[event_id], now))
            versions[event_id] += 1
        script = "".join(parts)
        # start every row at the version the script expects
        script = (
            "".join(f"UPDATE events SET version = 10000 WHERE id = {i};\n" for i in ids) + script
        )
    if os.path.basename(command[0]) == "sqlite3":
        script = ".timeout 30000\n" + script  # wait for the API's writer, as the API does
    began = time.perf_counter()
    subprocess.run(command, input=script.encode(), check=True, stdout=subprocess.DEVNULL)
    return count / (time.perf_counter() - began)


async def bench_api(
    name: str, url: str, direct: list[str], base_dir: str, args: argparse.Namespace
) -> None:
    ids = await seed(url)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamvault", "restream", "--base-dir", base_dir,
        "--database-url", url, "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "WARNING",
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_up(f"{base}/api/events?limit=1", process)
        for kind in ("list", "update"):
            api = await api_rate(base, ids, args.clients, args.seconds, kind)
            count = max(50, int(api * args.seconds))
            peer = direct_rate(direct, kind, ids[: args.clients], count)
            print(
                f"{name:10} {kind:6}: API {api:8.0f} req/s   direct {peer:8.0f} stmt/s   "
                f"ratio {api / peer:5.2f}"
            )
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


def render_minutes(directory: str, seconds: int) -> list[str]:
    """``seconds`` of 640x360 H.264/AAC in two-second MPEG-TS segments."""
    pattern = os.path.join(directory, "seg%04d.ts")
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-sc_threshold", "0",
         "-c:a", "aac", "-b:a", "64k", "-f", "segment", "-segment_time", "2",
         "-segment_format", "mpegts", "-reset_timestamps", "0", pattern],
        check=True,
    )  # fmt: skip
    return sorted(os.path.join(directory, n) for n in os.listdir(directory))


def store_files(store: SegmentStore, files: list[str]) -> None:
    for index, path in enumerate(files):
        data = Path(path).read_bytes()
        store.write_segment("bench", "source", T0 + timedelta(seconds=2 * index), 2.0, "full", data)


def cut_by_hand(work: str, listing: str, offsets: list[float], codecs: list[str]) -> float:
    """The peer: one ffmpeg run per cut over the concatenated files; cuts per minute."""
    began = time.perf_counter()
    for n, offset in enumerate(offsets):
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
             "-safe", "0", "-i", listing, "-ss", f"{offset:.3f}", "-t", "60", *codecs,
             "-f", "mpegts", os.path.join(work, f"hand{n}.ts")],
            check=True,
        )  # fmt: skip
    return len(offsets) / (time.perf_counter() - began) * 60


async def bench_cutter(args: argparse.Namespace, work: str) -> None:
    raw = os.path.join(work, "raw")
    os.makedirs(raw)
    files = await asyncio.to_thread(render_minutes, raw, 70)
    store = SegmentStore(os.path.join(work, "store"))
    await asyncio.to_thread(store_files, store, files)
    offsets = [0.5 + 1.3 * n for n in range(args.cuts)]
    events = await EventStore.connect(f"sqlite:///{work}/cut-events.sqlite3")
    for offset in offsets:
        start = T0 + timedelta(seconds=offset)
        r = {"start": format_iso(start), "end": format_iso(start + timedelta(seconds=60))}
        await events.create({"channel": "bench", "ranges": [r], "state": "EDITED"}, "bench")
    output = LocalOutput(os.path.join(work, "cuts"))
    output.prepare()
    cutter = Cutter(events, Archive(store), output, settings=Settings(name="bench", poll=0.1))
    began = time.perf_counter()
    assert await cutter.run_once() == 0
    ours = len(offsets) / (time.perf_counter() - began) * 60
    await events.close()

    listing = os.path.join(work, "list.txt")
    text = "ffconcat version 1.0\n" + "".join(f"file '{p}'\n" for p in files)
    await asyncio.to_thread(Path(listing).write_text, text)
    exact = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "copy"]
    for label, codecs in (
        ("re-encoded (exact)", exact),
        ("-c copy (keyframe-aligned)", ["-c", "copy"]),
    ):
        hand = await asyncio.to_thread(cut_by_hand, work, listing, offsets, codecs)
        print(
            f"cutter fast 1-minute cuts: {ours:6.1f} events/min   ffmpeg by hand, {label}: "
            f"{hand:6.1f} cuts/min   ratio {ours / hand:5.2f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per API measurement")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cuts", type=int, default=4, help="1-minute events to cut")
    parser.add_argument("--only", choices=("api", "cutter"), default=None)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="streamvault-bench-events-")
    if args.only == "cutter":
        try:
            await bench_cutter(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    postgres = PostgresServer().start()
    try:
        sqlite_path = os.path.join(work, "events.sqlite3")
        sqlite3 = shutil.which("sqlite3")
        if sqlite3 is None:
            raise SystemExit("sqlite3 (the command-line shell) is needed as the peer")
        await bench_api("SQLite", f"sqlite:///{sqlite_path}", [sqlite3, sqlite_path], work, args)
        pg_url = postgres.create_database("bench")
        psql = [
            shutil.which("psql") or "psql", "-h", "127.0.0.1", "-p", str(postgres.port),
            "-U", "postgres", "-d", "bench", "-q", "-v", "ON_ERROR_STOP=1",
        ]  # fmt: skip
        await bench_api("PostgreSQL", pg_url, psql, work, args)
        if args.only is None:
            await bench_cutter(args, work)
    finally:
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
