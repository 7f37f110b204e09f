"""A hostile peer: a real HTTP server on loopback that answers the backfiller's requests with
what no honest peer sends. Every mode is bounded in size and time (bodies are generated as
they are sent and the server notes how much it sent before the client hung up)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from streamvault.store.naming import format_name, hash_bytes
from streamvault.timeutil import hour_name


@dataclass
class Sent:
    """What the hostile peer sent, for the tests to check the client stopped reading early."""

    bytes: int = 0
    finished: bool = False
    requests: list[str] = field(default_factory=list)


def fake_names(hour: datetime, count: int) -> list[str]:
    """``count`` well-formed segment names in ``hour`` (0.001 s apart)."""
    return [
        format_name(hour + timedelta(milliseconds=i), 2.0, "full", hash_bytes(b"%d" % i))
        for i in range(count)
    ]


async def _stream(request: web.Request, pieces: object, sent: Sent) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for piece in pieces:  # type: ignore[attr-defined]
            await response.write(piece)
            sent.bytes += len(piece)
        await response.write_eof()
        sent.finished = True
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response


def deep_listing_app(depth: int = 100_000) -> web.Application:
    """Every listing is ``depth`` nested ``[``: json.loads raises RecursionError on it."""

    async def deep(request: web.Request) -> web.Response:
        return web.Response(text="[" * depth + "]" * depth, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", deep)
    return app


def huge_listing_app(hour: datetime, names: int, sent: Sent) -> web.Application:
    """``hour`` listed by every channel; the hour itself lists ``names`` names, streamed."""

    async def hours(request: web.Request) -> web.Response:
        return web.json_response([hour_name(hour)])

    batch = 10_000
    names_json = json.dumps(
        [format_name(hour + timedelta(microseconds=i), 2.0, "full", "A" * 43) for i in range(batch)]
    )[1:-1].encode()  # built once and sent again and again: the server is never the slow side

    def pieces() -> object:
        yield b"["
        for first in range(0, names, batch):
            yield (b"," if first else b"") + names_json
        yield b"]"

    async def listing(request: web.Request) -> web.StreamResponse:
        sent.requests.append(request.path)
        return await _stream(request, pieces(), sent)

    app = web.Application()
    app.router.add_get("/files/{channel}/{quality}", hours)
    app.router.add_get("/files/{channel}/{quality}/{hour}", listing)
    return app


def huge_segment_app(hour: datetime, body_bytes: int, sent: Sent, chunked: bool) -> web.Application:
    """Lists one segment whose body is ``body_bytes`` long (with or without a length)."""
    name = format_name(hour + timedelta(minutes=1), 2.0, "full", hash_bytes(b"x"))

    async def hours(request: web.Request) -> web.Response:
        return web.json_response([hour_name(hour)])

    async def listing(request: web.Request) -> web.Response:
        return web.json_response([name])

    async def body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        if not chunked:
            response.content_length = body_bytes
        await response.prepare(request)
        piece = b"\0" * 65536
        try:
            while sent.bytes < body_bytes:
                await response.write(piece)
                sent.bytes += len(piece)
            sent.finished = True
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    app = web.Application()
    app.router.add_get("/files/{channel}/{quality}", hours)
    app.router.add_get("/files/{channel}/{quality}/{hour}", listing)
    app.router.add_get("/segments/{channel}/{quality}/{hour}/{name}", body)
    return app


def future_feed_app(now: datetime, per_answer: int, sent: Sent) -> web.Application:
    """A change feed that announces ``per_answer`` names dated days ahead on every poll (and
    lists nothing, as a peer that hides what it announces)."""
    counter = {"cursor": 0}

    async def hours(request: web.Request) -> web.Response:
        return web.json_response([])

    async def changes(request: web.Request) -> web.Response:
        sent.requests.append(request.path_qs)
        counter["cursor"] += per_answer
        start = now + timedelta(days=3) + timedelta(hours=len(sent.requests))
        names = fake_names(start.replace(minute=0, second=0, microsecond=0), per_answer)
        return web.json_response(
            {
                "cursor": counter["cursor"],
                "instance": "hostile",
                "reset": False,
                "changes": [{"hour": hour_name(start), "name": n} for n in names],
            }
        )

    app = web.Application()
    app.router.add_get("/files/{channel}/{quality}", hours)
    app.router.add_get("/changes/{channel}/{quality}", changes)
    return app
