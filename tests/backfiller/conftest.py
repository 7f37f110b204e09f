"""Helpers for the backfiller tests: stores with real segments, small peer servers.

``peer_app`` serves a store over the wubloader paths the backfiller uses (as a wubloader node
would: no change feed unless asked), with switches for the faults the tests need. The
end-to-end tests use the real restreamer instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment
from tests.helpers import closed_port, read_file

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CHANNEL = "ch"

Serve = Callable[[web.Application], Awaitable[str]]


def write(
    store: SegmentStore,
    start: datetime,
    quality: str = "source",
    data: bytes | None = None,
    duration: float = 2.0,
    type: str = "full",
    channel: str = CHANNEL,
) -> Segment:
    """A real segment file with real bytes (distinct per start unless ``data`` is given)."""
    if data is None:
        data = f"{channel}/{quality}/{start.isoformat()}".encode() * 50
    return store.write_segment(channel, quality, start, duration, type, data)


def at(minutes: float, base: datetime = NOW - timedelta(hours=2)) -> datetime:
    return base + timedelta(minutes=minutes)


def tree(store: SegmentStore) -> dict[str, bytes]:
    """Every file under the store (relative path -> bytes): what a user would compare."""
    files: dict[str, bytes] = {}
    for root, _dirs, names in os.walk(store.base_dir):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, store.base_dir)] = f.read()
    return files


def peer_app(
    store: SegmentStore,
    *,
    corrupt: set[str] | None = None,
    no_hours_for: set[str] | None = None,
    feed: bool = False,
    feed_interval: float = 0.05,
    stall: asyncio.Event | None = None,
) -> web.Application:
    """A minimal peer over ``store``.

    ``corrupt``: segment names served with one byte changed. ``no_hours_for``: qualities whose
    hour list is empty although their hour directories answer (the union case). ``stall``:
    segment bodies stop after a first piece, and the event is set.
    """
    corrupt = corrupt or set()
    no_hours_for = no_hours_for or set()

    async def hours(request: web.Request) -> web.Response:
        channel, quality = request.match_info["channel"], request.match_info["quality"]
        found = [] if quality in no_hours_for else store.hours(channel, quality)
        return web.json_response(found)

    async def names(request: web.Request) -> web.Response:
        m = request.match_info
        tombstones = request.query.get("tombstones") == "true"
        found = store.segment_names(m["channel"], m["quality"], m["hour"], tombstones=tombstones)
        return web.json_response(found)

    async def segment(request: web.Request) -> web.StreamResponse:
        m = request.match_info
        path = os.path.join(store.hour_dir(m["channel"], m["quality"], m["hour"]), m["name"])
        if not await asyncio.to_thread(os.path.exists, path):
            raise web.HTTPNotFound()
        data = await read_file(path)
        if m["name"] in corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if stall is not None:
            response = web.StreamResponse()
            response.content_length = len(data)
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            stall.set()
            await asyncio.sleep(3600)
        return web.Response(body=data, content_type="video/mp2t")

    app = web.Application()
    app.router.add_get("/files/{channel}/{quality}", hours)
    app.router.add_get("/files/{channel}/{quality}/{hour}", names)
    app.router.add_get("/segments/{channel}/{quality}/{hour}/{name}", segment)
    if feed:
        from streamvault.restreamer import feed as feed_module

        feed_module.setup(app, store, interval=feed_interval)
    return app


def garbage_app() -> web.Application:
    """A server that answers every request with 200 and something that is not a listing."""

    async def nonsense(request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", nonsense)
    return app


def hanging_app() -> web.Application:
    """A server that accepts requests and never answers."""

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    app = web.Application()
    app.router.add_get("/{tail:.*}", hang)
    return app


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def closed_port_url() -> str:
    """A loopback URL where nothing listens (its port held bound: see closed_port)."""
    return f"http://127.0.0.1:{closed_port()}"
