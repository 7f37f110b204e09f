"""The simulator's CDN: signed live media playlists and segments, with their faults."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct

from aiohttp import web

from ..mpegts import PACKET_SIZE
from .context import M3U8, base, check_signature, node_of, signed, sim_of
from .faults import Fault
from .playlists import MediaEntry, MediaPlaylist, render_media
from .world import ChannelTimeline, World

log = logging.getLogger(__name__)

LARGE_BODY = 256 * 1024
CLIENT_LEFT = 499  # nginx's "client closed request", for the counters
_SEQUENCE_RE = re.compile(r"\d{1,12}")


def _known(request: web.Request) -> tuple[ChannelTimeline, str]:
    sim = sim_of(request)
    timeline = sim.channel(request.match_info["channel"])
    quality = request.match_info["quality"]
    if timeline is None or quality not in sim.qualities(timeline):
        raise web.HTTPNotFound(text="unknown channel or quality")
    return timeline, quality


def _media_playlist(
    sim: World, timeline: ChannelTimeline, quality: str, node: str | None, base: str
) -> MediaPlaylist:
    name, d = timeline.config.name, timeline.duration
    max_age = sim.config.segment_url_max_age
    entries = []
    suffix = "mp4" if timeline.config.fmp4 else "ts"
    map_uri = None
    if timeline.config.fmp4:
        map_uri = signed(sim, base, f"/cdn/{name}/{quality}/init.mp4", max_age)
    listed = timeline.published[-sim.config.window :]
    for sequence in listed:
        ad = sim.ad_break(timeline, quality, node, sequence)
        entries.append(
            MediaEntry(
                sequence=sequence,
                program_date_time=sim.program_date_time(timeline, quality, node, sequence),
                duration=sim.shown_duration(timeline, ad, sequence),
                uri=signed(sim, base, f"/cdn/{name}/{quality}/{sequence}.{suffix}", max_age),
                ad=ad,
            )
        )
    prefetch: list[str] = []
    if sim.playlist_fault("prefetch", timeline, quality, node) is not None:
        sim.counts.fault("prefetch")
        upcoming = (timeline.next_sequence, timeline.next_sequence + 1)
        prefetch = [
            signed(sim, base, f"/cdn/{name}/{quality}/{s}.{suffix}", max_age) for s in upcoming
        ]
    endlist = False
    for kind in ("endlist", "ended"):
        if sim.playlist_fault(kind, timeline, quality, node) is not None:
            sim.counts.fault(kind)
            endlist = True
    first = entries[0].sequence if entries else timeline.next_sequence
    trigger = None
    if entries and sim.playlist_fault("trigger", timeline, quality, node) is not None:
        sim.counts.fault("trigger")
        trigger = entries[0].program_date_time
    return MediaPlaylist(
        entries=entries,
        segment_duration=d,
        created=sim.clock.now(),
        elapsed_seconds=first * d,
        prefetch=prefetch,
        endlist=endlist,
        media_sequence=len(timeline.published) - len(listed),
        trigger=trigger,
        map_uri=map_uri,
    )


async def media_playlist(request: web.Request) -> web.StreamResponse:
    sim, node = sim_of(request), node_of(request)
    check_signature(request, request.path.removeprefix(f"/node/{node}" if node else ""))
    timeline, quality = _known(request)
    sim.advance()
    if not sim.is_live(timeline, node):
        raise web.HTTPNotFound(text="stream is offline")
    fault = sim.playlist_fault("playlist_status", timeline, quality, node)
    if fault is not None and fault.status is not None:
        sim.counts.fault("playlist_status")
        return web.Response(status=fault.status, text="simulated playlist fault")
    playlist = _media_playlist(sim, timeline, quality, node, base(request))
    text = render_media(playlist)
    mangle = sim.playlist_fault("mangle", timeline, quality, node)
    if mangle is not None:
        sim.counts.fault("mangle")
        text = mangled(text, mangle.mangle)
    return web.Response(text=text, content_type=M3U8)


_EXTINF_RE = re.compile(r"^#EXTINF:[^,]*,", re.MULTILINE)
_PDT_RE = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:.*$", re.MULTILINE)
#: at the edges of what a datetime holds: adding a duration (or going back) overflows
_ABSURD_DATES = {"year_9999": "9999-12-31T23:59:59.000Z", "year_1": "0001-01-01T00:00:00.000Z"}


def mangled(text: str, how: str) -> str:
    """A media playlist as a hostile origin might serve it (the ``mangle`` fault)."""
    if how == "garbage":
        return "hello"
    durations = {"nan_duration": "nan", "inf_duration": "inf", "zero_duration": "0"}
    if how in durations:
        return _EXTINF_RE.sub(f"#EXTINF:{durations[how]},", text)
    return _PDT_RE.sub(f"#EXT-X-PROGRAM-DATE-TIME:{_ABSURD_DATES[how]}", text)


async def init_section(request: web.Request) -> web.StreamResponse:
    """An fMP4 channel's ``EXT-X-MAP`` init section."""
    sim, node = sim_of(request), node_of(request)
    check_signature(request, request.path.removeprefix(f"/node/{node}" if node else ""))
    timeline, quality = _known(request)
    init = sim.init_section(timeline.config.name, quality)
    if init is None:
        raise web.HTTPNotFound(text="not an fMP4 channel")
    return web.Response(body=init, content_type="video/mp4")


async def _await_segment(sim: World, timeline: ChannelTimeline, sequence: int) -> bool:
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
    sim, node = sim_of(request), node_of(request)
    check_signature(request, request.path.removeprefix(f"/node/{node}" if node else ""))
    timeline, quality = _known(request)
    key = f"{timeline.config.name}/{quality}/{request.match_info['sequence']}"
    sim.counts.segment_request(key, +1)
    try:
        return await _segment(request, sim, node, timeline, quality)
    finally:
        sim.counts.segment_request(key, -1)


async def _segment(
    request: web.Request, sim: World, node: str | None, timeline: ChannelTimeline, quality: str
) -> web.StreamResponse:
    text = request.match_info["sequence"]
    if not _SEQUENCE_RE.fullmatch(text) or not await _await_segment(sim, timeline, int(text)):
        raise web.HTTPNotFound(text="no such segment")
    sequence = int(text)
    fault = next(
        (
            found
            for kind in (
                "segment_status",
                "empty_body",
                "truncate",
                "stall_then_truncate",
                "reset_mid_body",
            )
            if (found := sim.segment_fault(kind, timeline, quality, node, sequence)) is not None
        ),
        None,
    )
    if fault is not None:
        sim.counts.fault(fault.kind)
        log.debug("segment %s/%s/%d: fault %s", timeline.config.name, quality, sequence, fault.kind)
    if fault is not None and fault.kind == "segment_status":
        return web.Response(status=fault.status or 500, text="simulated segment fault")
    kind = "video/mp4" if timeline.config.fmp4 else "video/mp2t"
    if fault is not None and fault.kind == "empty_body":
        return web.Response(body=b"", content_type=kind)
    data = sim.segment_bytes(timeline.config.name, quality, sequence)
    if fault is not None and fault.kind == "truncate":
        data = _cut(data, fault.truncate_fraction)  # at once, cleanly, with its own length
    try:
        if fault is not None and fault.kind == "stall_then_truncate":
            return await _stall_then_truncate(request, sim, fault, data)
        if fault is not None and fault.kind == "reset_mid_body":
            return await _reset_mid_body(request, fault, data)
        return await _send(request, data)
    except ConnectionResetError:
        log.debug("segment %s/%s/%d: client left", timeline.config.name, quality, sequence)
        return web.Response(status=CLIENT_LEFT)  # never sent; counted as such


async def _send(request: web.Request, data: bytes) -> web.StreamResponse:
    """The segment body. aiohttp joins headers and body into one new bytes object on Python
    < 3.12.9; a large body goes out as a small first write (which takes the headers) and a
    zero-copy rest, which spares a 1.5 MB copy per request."""
    if len(data) < LARGE_BODY:
        return web.Response(body=data, content_type="video/mp2t")
    response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
    response.content_length = len(data)
    await response.prepare(request)
    view = memoryview(data)
    await response.write(view[:PACKET_SIZE])
    await response.write(view[PACKET_SIZE:])
    await response.write_eof()
    return response


def _cut(data: bytes, fraction: float) -> bytes:
    packets = len(data) // PACKET_SIZE
    return data[: max(1, int(packets * fraction)) * PACKET_SIZE] if packets else b""


async def _stall_then_truncate(
    request: web.Request, sim: World, fault: Fault, data: bytes
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
    return response
