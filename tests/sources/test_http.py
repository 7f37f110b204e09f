"""fetch_text's timeout is in the clock's seconds, on a real socket: a server that never
answers is given up on when the fake clock passes the timeout, not before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from streamvault.clock import FakeClock, ScaledClock
from streamvault.sources.http import fetch_text, new_session


@pytest.fixture
async def silent() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A server whose handler never answers; the event is set once a request is inside."""
    inside = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        inside.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def fine(request: web.Request) -> web.Response:
        return web.Response(text="#EXTM3U\n")

    app = web.Application()
    app.router.add_get("/hang.m3u8", hang)
    app.router.add_get("/fine.m3u8", fine)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", inside
    await runner.cleanup()


def timeouts() -> float:
    labels = {"endpoint": "test_playlist", "reason": "timeout"}
    return REGISTRY.get_sample_value("streamvault_http_errors_total", labels) or 0.0


async def test_a_silent_server_times_out_in_fake_clock_time(
    silent: tuple[str, asyncio.Event],
) -> None:
    url, inside = silent
    clock = FakeClock()
    before = timeouts()
    session = new_session(None)
    try:
        task = asyncio.ensure_future(
            fetch_text(session, clock, f"{url}/hang.m3u8", "test_playlist", 5.0)
        )
        await inside.wait()
        await clock.advance(4.9)
        assert not task.done()
        await clock.advance(0.1)
        with pytest.raises(TimeoutError, match="within 5 s"):
            await task
    finally:
        await session.close()
    assert timeouts() == before + 1


async def test_an_answer_within_the_timeout_is_returned(
    silent: tuple[str, asyncio.Event],
) -> None:
    url, _ = silent
    session = new_session(None)
    try:
        for clock in (FakeClock(), ScaledClock(100.0)):
            text = await fetch_text(session, clock, f"{url}/fine.m3u8", "test_playlist", 60.0)
            assert text == "#EXTM3U\n"
    finally:
        await session.close()
