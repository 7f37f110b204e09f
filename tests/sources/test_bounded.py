"""Bodies are read with a byte cap and never inflated past it (issue 13: a 1 MB gzip bomb
reached 3.1 GB RSS, a 300 MB playlist 794 MB)."""

from __future__ import annotations

import functools
import gzip
import resource
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from streamvault.clock import SystemClock
from streamvault.errors import TooLarge
from streamvault.sources.http import BoundedBody, fetch_text, new_session

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + b"#EXTINF:2.0,\nx.ts\n" * 10


@functools.cache
def bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(size >> 20)]
    return b"".join(parts) + compressor.flush()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(PLAYLIST), headers={"Content-Encoding": "gzip"})

    async def bomb_handler(request: web.Request) -> web.Response:
        # 64 MiB of zeros in 64 KB: sixteen times the cap (aiohttp inflated it all)
        return web.Response(body=bomb(64 << 20), headers={"Content-Encoding": "gzip"})

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"#EXT-X-X\n" * 100_000
        for _ in range(50):  # 45 MB unless the client hangs up first
            await response.write(chunk)
        return response

    app = web.Application()
    app.router.add_get("/gzipped.m3u8", gzipped)
    app.router.add_get("/bomb.m3u8", bomb_handler)
    app.router.add_get("/huge.m3u8", huge)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_gzipped_playlist_is_read(server: str) -> None:
    session = new_session(None)
    try:
        text = await fetch_text(session, SystemClock(), f"{server}/gzipped.m3u8", "playlist", 10)
    finally:
        await session.close()
    assert text.encode() == PLAYLIST


@pytest.mark.parametrize("path", ["bomb.m3u8", "huge.m3u8"])
async def test_a_gzip_bomb_or_a_huge_body_is_refused_at_the_cap(server: str, path: str) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    session = new_session(None)
    try:
        with pytest.raises(TooLarge, match="more than 4194304 bytes"):
            await fetch_text(session, SystemClock(), f"{server}/{path}", "playlist", 30)
    finally:
        await session.close()
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grew_mb < 100  # not gigabytes


def test_bounded_body_counts_decoded_bytes() -> None:
    body = BoundedBody("gzip", 1000, "thing")
    data = gzip.compress(bytes(999))
    assert len(body.feed(data)) == 999
    with pytest.raises(TooLarge):
        BoundedBody("gzip", 1000, "thing").feed(gzip.compress(bytes(1001)))
    with pytest.raises(TooLarge):
        BoundedBody("identity", 10, "thing").feed(b"x" * 11)
    with pytest.raises(TooLarge, match="unsupported"):
        BoundedBody("br", 10, "thing")
