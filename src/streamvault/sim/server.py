"""The simulator's aiohttp application: GraphQL token, usher, CDN and control routes.

Every Twitch route also answers under ``/node/NAME``, which selects the faults with
``node="NAME"``; URLs handed out keep the prefix.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import struct
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import ConfigError
from .config import quality_info
from .faults import Fault, faults_from_json
from .playlists import (
    MediaEntry,
    MediaPlaylist,
    Variant,
    render_master_ivs_style,
    render_master_media_style,
    render_media,
)
from .signing import CLIENT_ID, PERSISTED_QUERY_HASH
from .tls import make_certificate, server_context
from .tspackets import PACKET_SIZE

if TYPE_CHECKING:
    from .simulator import ChannelTimeline, Simulator

log = logging.getLogger(__name__)

M3U8 = "application/vnd.apple.mpegurl"
SIM_KEY = web.AppKey("sim", object)
PREFIXES = (("", "plain"), ("/node/{node}", "node"))
_SEQUENCE_RE = re.compile(r"\d{1,12}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _sim(request: web.Request) -> Simulator:
    sim: Simulator = request.app[SIM_KEY]  # type: ignore[assignment]
    return sim


def _node(request: web.Request) -> str | None:
    return request.match_info.get("node")


def _base(request: web.Request) -> str:
    node = _node(request)
    return f"{request.scheme}://{request.host}" + (f"/node/{node}" if node else "")


def _now(sim: Simulator) -> float:
    return sim.clock.now().timestamp()


def _signed(sim: Simulator, base: str, path: str, max_age: float) -> str:
    expires = int(_now(sim) + max_age)
    return f"{base}{path}?exp={expires}&sig={sim.signer.sign_path(path, expires)}"


def _check_signature(request: web.Request, path: str) -> None:
    sim = _sim(request)
    query = request.query
    if not sim.signer.check_path(path, query.get("exp"), query.get("sig"), _now(sim)):
        raise web.HTTPForbidden(text="expired or bad signature")


# -- GraphQL ------------------------------------------------------------------------------


def _token_answer(sim: Simulator, body: Any) -> dict[str, Any] | None:
    """The answer to one PlaybackAccessToken query, or None if the query is not that."""
    if not isinstance(body, dict) or body.get("operationName") != "PlaybackAccessToken":
        return None
    persisted = (body.get("extensions") or {}).get("persistedQuery") or {}
    if persisted.get("sha256Hash") != PERSISTED_QUERY_HASH or persisted.get("version") != 1:
        return None
    login = str((body.get("variables") or {}).get("login", ""))
    timeline = sim.channel(login)
    if timeline is None:
        return {"data": {"streamPlaybackAccessToken": None}}
    value, signature = sim.signer.make_token(
        timeline.config.name, int(_now(sim) + sim.config.token_max_age)
    )
    token = {"value": value, "signature": signature, "__typename": "PlaybackAccessToken"}
    return {"data": {"streamPlaybackAccessToken": token}}


async def gql(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Client-ID") != CLIENT_ID:
        return web.json_response(
            {
                "error": "Unauthorized",
                "status": 401,
                "message": "bad Client-ID",
            },
            status=401,
        )
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"errors": [{"message": "body is not JSON"}]}, status=400)
    sim = _sim(request)
    queries = body if isinstance(body, list) else [body]
    answers = [_token_answer(sim, query) for query in queries]
    if not answers or any(answer is None for answer in answers):
        return web.json_response({"errors": [{"message": "PersistedQueryNotFound"}]}, status=400)
    return web.json_response(answers if isinstance(body, list) else answers[0])


# -- usher ---------------------------------------------------------------------------------


def _offline() -> web.Response:
    body = [{"error": "twirp error not_found: transcode does not exist", "type": "error",
             "error_code": "transcode_does_not_exist"}]  # fmt: skip
    return web.json_response(body, status=404)


def _variants(
    sim: Simulator, timeline: ChannelTimeline, node: str | None, base: str
) -> list[Variant]:
    name = timeline.config.name
    variants: list[Variant] = []
    for quality in timeline.config.qualities:
        if sim.playlist_fault("missing_quality", timeline, quality, node) is not None:
            sim.count_fault("missing_quality")
            continue
        info = quality_info(quality)
        max_age = sim.config.playlist_url_max_age
        if timeline.config.master_style == "ivs" and quality != "source":
            uri = _signed(sim, base, f"/cdn/{name}/{quality}-portrait/index.m3u8", max_age)
            variants.append(Variant(info, uri, portrait=True))
        uri = _signed(sim, base, f"/cdn/{name}/{quality}/index.m3u8", max_age)
        variants.append(Variant(info, uri))
    return variants


async def usher(request: web.Request) -> web.StreamResponse:
    sim, node = _sim(request), _node(request)
    timeline = sim.channel(request.match_info["channel"])
    if timeline is None:
        return _offline()
    query = request.query
    if not sim.signer.check_token(
        timeline.config.name, query.get("token"), query.get("sig"), _now(sim)
    ):
        return web.json_response(
            [{"error": "Unauthorized", "type": "error", "error_code": "invalid_token"}], status=403
        )
    sim.advance()
    if not sim.is_live(timeline, node):
        return _offline()
    variants = _variants(sim, timeline, node, _base(request))
    if timeline.config.master_style == "ivs":
        text = render_master_ivs_style(variants)
    else:
        text = render_master_media_style(variants, _now(sim))
    return web.Response(text=text, content_type=M3U8)


# -- CDN -----------------------------------------------------------------------------------


def _known(request: web.Request) -> tuple[ChannelTimeline, str]:
    sim = _sim(request)
    timeline = sim.channel(request.match_info["channel"])
    quality = request.match_info["quality"]
    if timeline is None or quality not in sim.qualities(timeline):
        raise web.HTTPNotFound(text="unknown channel or quality")
    return timeline, quality


def _media_playlist(
    sim: Simulator, timeline: ChannelTimeline, quality: str, node: str | None, base: str
) -> MediaPlaylist:
    name, d = timeline.config.name, timeline.duration
    max_age = sim.config.segment_url_max_age
    entries = [
        MediaEntry(
            sequence=sequence,
            program_date_time=sim.program_date_time(timeline, quality, node, sequence),
            duration=d,
            uri=_signed(sim, base, f"/cdn/{name}/{quality}/{sequence}.ts", max_age),
            ad=sim.ad_break(timeline, quality, node, sequence),
        )
        for sequence in timeline.published[-sim.config.window :]
    ]
    prefetch: list[str] = []
    if sim.playlist_fault("prefetch", timeline, quality, node) is not None:
        sim.count_fault("prefetch")
        upcoming = (timeline.next_sequence, timeline.next_sequence + 1)
        prefetch = [_signed(sim, base, f"/cdn/{name}/{quality}/{s}.ts", max_age) for s in upcoming]
    endlist = sim.playlist_fault("endlist", timeline, quality, node) is not None
    if endlist:
        sim.count_fault("endlist")
    first = entries[0].sequence if entries else timeline.next_sequence
    return MediaPlaylist(
        entries=entries,
        segment_duration=d,
        created=sim.clock.now(),
        elapsed_seconds=first * d,
        prefetch=prefetch,
        endlist=endlist,
    )


async def media_playlist(request: web.Request) -> web.StreamResponse:
    sim, node = _sim(request), _node(request)
    _check_signature(request, request.path.removeprefix(f"/node/{node}" if node else ""))
    timeline, quality = _known(request)
    sim.advance()
    if not sim.is_live(timeline, node):
        raise web.HTTPNotFound(text="stream is offline")
    fault = sim.playlist_fault("playlist_status", timeline, quality, node)
    if fault is not None and fault.status is not None:
        sim.count_fault("playlist_status")
        return web.Response(status=fault.status, text="simulated playlist fault")
    playlist = _media_playlist(sim, timeline, quality, node, _base(request))
    return web.Response(text=render_media(playlist), content_type=M3U8)


async def _await_segment(sim: Simulator, timeline: ChannelTimeline, sequence: int) -> bool:
    """Whether ``sequence`` is published, waiting for it if it is the one in progress or the
    next (a prefetched segment is served once it is complete)."""
    sim.advance()
    if sequence in timeline.published_set:
        return True
    if not (timeline.next_sequence <= sequence <= sim.live_sequence(timeline) + 1):
        return False
    end = (sequence + 1) * timeline.duration
    await sim.clock.sleep(end - sim.stream_seconds(timeline) + 0.001)
    sim.advance()
    return sequence in timeline.published_set


async def segment(request: web.Request) -> web.StreamResponse:
    sim, node = _sim(request), _node(request)
    _check_signature(request, request.path.removeprefix(f"/node/{node}" if node else ""))
    timeline, quality = _known(request)
    text = request.match_info["sequence"]
    if not _SEQUENCE_RE.fullmatch(text) or not await _await_segment(sim, timeline, int(text)):
        raise web.HTTPNotFound(text="no such segment")
    sequence = int(text)
    fault = next(
        (
            found
            for kind in ("segment_status", "empty_body", "stall_then_truncate", "reset_mid_body")
            if (found := sim.segment_fault(kind, timeline, quality, node, sequence)) is not None
        ),
        None,
    )
    if fault is not None:
        sim.count_fault(fault.kind)
        log.debug("segment %s/%s/%d: fault %s", timeline.config.name, quality, sequence, fault.kind)
    if fault is not None and fault.kind == "segment_status":
        return web.Response(status=fault.status or 500, text="simulated segment fault")
    if fault is not None and fault.kind == "empty_body":
        return web.Response(body=b"", content_type="video/mp2t")
    data = sim.segment_bytes(timeline.config.name, quality, sequence)
    if fault is not None and fault.kind == "stall_then_truncate":
        return await _stall_then_truncate(request, sim, fault, data)
    if fault is not None and fault.kind == "reset_mid_body":
        return await _reset_mid_body(request, fault, data)
    return web.Response(body=data, content_type="video/mp2t")


def _cut(data: bytes, fraction: float) -> bytes:
    packets = len(data) // PACKET_SIZE
    return data[: max(1, int(packets * fraction)) * PACKET_SIZE] if packets else b""


async def _stall_then_truncate(
    request: web.Request, sim: Simulator, fault: Fault, data: bytes
) -> web.StreamResponse:
    """Headers and part of the body, a stall, then a clean (chunked) end: a short 'full' file."""
    response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(_cut(data, fault.truncate_fraction))
    await sim.clock.sleep(fault.stall_seconds)
    await response.write_eof()
    return response


async def _reset_mid_body(request: web.Request, fault: Fault, data: bytes) -> web.StreamResponse:
    """Announce the full length, send part of it, then reset the TCP connection."""
    response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(_cut(data, fault.truncate_fraction or 0.5))
    await asyncio.sleep(0.01)  # let the partial body reach the socket before the reset
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    raise ConnectionResetError("simulated reset mid-body")


# -- control -------------------------------------------------------------------------------


async def counters(request: web.Request) -> web.StreamResponse:
    return web.json_response(_sim(request).counters)


async def list_faults(request: web.Request) -> web.StreamResponse:
    return web.json_response([fault.to_dict() for fault in _sim(request).faults])


async def add_faults(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    try:
        faults = faults_from_json(await request.json())
    except (ValueError, ConfigError) as err:
        return web.json_response({"error": str(err)}, status=400)
    for fault in faults:
        sim.add_fault(fault)
    return web.json_response({"added": len(faults), "active": len(sim.faults)})


async def clear_faults(request: web.Request) -> web.StreamResponse:
    _sim(request).clear_faults()
    return web.json_response({"active": 0})


async def set_state(request: web.Request) -> web.StreamResponse:
    state = request.match_info["state"]
    if state not in ("online", "offline"):
        raise web.HTTPNotFound()
    if not _sim(request).set_online(request.match_info["channel"], state == "online"):
        raise web.HTTPNotFound(text="unknown channel")
    return web.json_response({"channel": request.match_info["channel"], "state": state})


# -- application ---------------------------------------------------------------------------


def _counting_middleware(sim: Simulator) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        sim.count_request(name.split(".")[0] if name else "other", _node(request))
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            sim.count_response(exc.status)
            raise
        sim.count_response(response.status)
        return response

    return middleware


def make_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[_counting_middleware(sim)])
    app[SIM_KEY] = sim
    for prefix, tag in PREFIXES:
        app.router.add_post(f"{prefix}/gql", gql, name=f"gql.{tag}")
        for api in ("api", "api/v2"):
            app.router.add_get(
                f"{prefix}/{api}/channel/hls/{{channel}}.m3u8",
                usher,
                name=f"usher.{tag}{api.replace('/', '')}",
            )
        app.router.add_get(
            f"{prefix}/cdn/{{channel}}/{{quality}}/index.m3u8", media_playlist,
            name=f"playlist.{tag}",
        )  # fmt: skip
        app.router.add_get(
            f"{prefix}/cdn/{{channel}}/{{quality}}/{{sequence}}.ts", segment,
            name=f"segment.{tag}",
        )  # fmt: skip
    app.router.add_get("/control/counters", counters, name="control.counters")
    app.router.add_get("/control/faults", list_faults, name="control.faults")
    app.router.add_post("/control/faults", add_faults, name="control.add")
    app.router.add_delete("/control/faults", clear_faults, name="control.clear")
    app.router.add_post("/control/channels/{channel}/{state}", set_state, name="control.state")
    return app


async def start_site(
    sim: Simulator, app: web.Application, host: str, port: int, *, tls: bool
) -> tuple[web.AppRunner, str, str | None]:
    """Serve ``app``; returns the runner, the base URL and (with TLS) the certificate path."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    server = runner.server
    if server is not None:
        original = server.connection_made

        def connection_made(handler: Any, transport: Any) -> None:
            sim.count_connection()
            original(handler, transport)

        server.connection_made = connection_made  # type: ignore[method-assign]
    context, ca_file = None, None
    if tls:
        cert, key = make_certificate(Path(tempfile.mkdtemp(prefix="streamvault-sim-tls-")))
        context, ca_file = server_context(cert, key), str(cert)
    site = web.TCPSite(runner, host, port, ssl_context=context)
    await site.start()
    bound = runner.addresses[0][1]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    shown = f"[{shown}]" if ":" in shown else shown
    scheme = "https" if tls else "http"
    return runner, f"{scheme}://{shown}:{bound}", ca_file


def describe(sim: Simulator) -> str:
    """The lines ``streamvault sim`` prints so a downloader can be pointed at it."""
    flags = f"--twitch-gql-url {sim.base_url} --twitch-usher-url {sim.base_url}"
    if sim.ca_file:
        flags += f" --ca-file {sim.ca_file}"
    lines = [f"simulated Twitch at {sim.base_url}", f"downloader flags: {flags}"]
    lines += [f"control: {sim.base_url}/control/counters", json.dumps(
        {c.name: c.qualities for c in sim.config.channels})]  # fmt: skip
    return "\n".join(lines)
