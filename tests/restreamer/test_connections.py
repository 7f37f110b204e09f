"""Slow and greedy clients never starve the others: deadlines, a connection cap, enough
descriptors, and malformed requests logged as one line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from streamvault.store.disk import SegmentStore

from .hostile_client import Trickler, raise_own_fd_limit, restreamer
from .media import start_of

TRICKLERS = 1000


def small_store(tmp_path: Path) -> str:
    store = SegmentStore(str(tmp_path / "store"))
    for i in range(3):
        store.write_segment("test", "source", start_of(i), 2.0, "full", b"x" * (i + 1))
    return store.base_dir


async def test_a_thousand_trickling_connections_do_not_starve_a_normal_client(
    tmp_path: Path,
) -> None:
    raise_own_fd_limit(TRICKLERS + 512)
    async with restreamer(small_store(tmp_path), "--idle-timeout", "3") as (url, _process):
        port = int(url.rsplit(":", 1)[1])
        tricklers = [await Trickler.open(port) for _ in range(TRICKLERS)]
        tasks = [asyncio.create_task(t.trickle(0.5)) for t in tricklers]
        try:
            answered = 0
            slowest = 0.0
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for _ in range(20):
                    began = time.perf_counter()
                    async with session.get(url + "/files/test/source") as response:
                        assert response.status == 200
                        assert await response.json() == [start_of(0).strftime("%Y-%m-%dT%H")]
                    slowest = max(slowest, time.perf_counter() - began)
                    answered += 1
            assert answered == 20  # every request answered (within 10 s each, usually ms)
            # and the tricklers are closed by the server's deadline, not served forever
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
            assert all(t.closed_by_server.is_set() for t in tricklers)
            assert max(t.sent for t in tricklers) < len(Trickler.HEAD)
            print(f"slowest normal answer among {TRICKLERS} tricklers: {slowest * 1000:.1f} ms")
        finally:
            for task in tasks:
                task.cancel()
            for trickler in tricklers:
                trickler.close()


async def test_connections_past_the_cap_are_refused_at_once(tmp_path: Path) -> None:
    cap, extra = 50, 30
    raise_own_fd_limit(512)
    async with restreamer(small_store(tmp_path), "--max-connections", str(cap)) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        held = []
        for _ in range(cap):  # keep-alive connections up to the cap, each answered once
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /files HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            assert head.startswith(b"HTTP/1.1 200"), head
            held.append((reader, writer))
        try:
            answers = []
            for _ in range(extra):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                answers.append(await asyncio.wait_for(reader.read(), timeout=10))
                writer.close()
            assert all(a.startswith(b"HTTP/1.1 503") for a in answers), answers[:3]
        finally:
            for _, writer in held:
                writer.close()
        # room again once they are gone
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                async with session.get(url + "/files") as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.05)
            assert response.status == 200


async def test_malformed_requests_are_one_info_line(tmp_path: Path) -> None:
    async with restreamer(small_store(tmp_path)) as (url, child):
        port = int(url.rsplit(":", 1)[1])
        for raw in (
            b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"GET /files HTTP/9.9\r\n\r\n",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            answer = await asyncio.wait_for(reader.read(), timeout=10)
            writer.close()
            assert answer.split(b" ", 2)[1] == b"400", answer
        await child.stop()
    log = child.output()
    assert "Traceback" not in log and "ERROR" not in log, log
    lines = [line for line in log.splitlines() if "malformed request" in line]
    assert len(lines) == 3 and all(" INFO " in line for line in lines), lines
