"""HLS playlists over the store (SPEC §5): ``/playlist/CHANNEL.m3u8`` (master) and
``/playlist/CHANNEL/QUALITY.m3u8`` (media).

Without ``start`` a playlist starts at the stream's first segment; without ``end`` it ends now
and is a live (``EVENT``) playlist that players keep reloading. Such an implicit range may not
be longer than 12 hours. The work runs in a thread, and identical concurrent requests share it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote, urlencode

from aiohttp import web

from ..errors import NotAcceptable, NotFound
from ..store.naming import Segment
from ..store.select import segments_only, select_segments
from ..timeutil import format_iso
from .archive import Archive
from .http import M3U8, query
from .params import TimeRange, check_implicit, range_params
from .render import Variant, bandwidth, base_uri, master_playlist, media_playlist
from .state import ARCHIVE, CLOCK, INFLIGHT

#: Segments whose sizes are read to estimate a quality's bandwidth.
BANDWIDTH_SAMPLE = 10


def resolve_range(
    archive: Archive, channel: str, quality: str, given: TimeRange, now: datetime
) -> tuple[datetime, datetime] | None:
    """The range to serve, or None when there can be no video in it."""
    start = given.start or archive.earliest(channel, quality, given.end)
    if start is None:
        return None
    end = given.end or now
    if end <= start:
        return None
    check_implicit(start, end, given.explicit)
    return start, end


def _selection(
    archive: Archive, channel: str, quality: str, given: TimeRange, now: datetime
) -> list[Segment] | None:
    resolved = resolve_range(archive, channel, quality, given, now)
    if resolved is None:
        return None
    segments = archive.segments_for_range(channel, quality, *resolved)
    return select_segments(segments, *resolved, archive.size_of)  # type: ignore[return-value]


def media_text(
    archive: Archive, channel: str, quality: str, given: TimeRange, now: datetime
) -> bytes:
    """The media playlist. A closed past range is kept until its directories change."""
    archive.require_stream(channel, quality)
    resolved = resolve_range(archive, channel, quality, given, now)
    if resolved is None:
        raise NotAcceptable(f"no video of {channel}/{quality} in the range")
    listing = archive.range_listing(channel, quality, *resolved)
    ended = given.end is not None and given.end <= now
    key = ("media", channel, quality, resolved)
    if ended and (text := archive.results.get(key, listing.versions)) is not None:
        return text
    selection = select_segments(listing.segments, *resolved, archive.size_of)
    if not segments_only(selection):
        raise NotAcceptable(f"no video of {channel}/{quality} in the range")
    entries = listing.entries(base_uri(channel, quality))
    text = media_playlist(selection, ended, lambda segment: entries[id(segment)]).encode()
    if ended:
        archive.results.put(key, listing.versions, text)
    return text


def _variant_uri(channel: str, quality: str, given: TimeRange) -> str:
    params = {
        name: format_iso(value)
        for name, value in (("start", given.start), ("end", given.end))
        if value
    }
    uri = f"{quote(channel, safe='')}/{quote(quality, safe='')}.m3u8"
    return uri + ("?" + urlencode(params) if params else "")


def master_text(archive: Archive, channel: str, given: TimeRange, now: datetime) -> bytes:
    if not archive.is_dir(channel):
        raise NotFound(f"unknown channel {channel!r}")
    variants = []
    for quality in archive.qualities(channel):
        segments = segments_only(_selection(archive, channel, quality, given, now) or [])
        if not segments:
            continue
        step = max(1, len(segments) // BANDWIDTH_SAMPLE)
        sample = [replace(s, size=archive.size_of(s)) for s in segments[::step]]
        video = archive.videos.get(channel, quality, archive.segment_path(segments[-1]))
        uri = _variant_uri(channel, quality, given)
        variants.append(Variant(quality, bandwidth(sample), uri, video))
    if not variants:
        raise NotAcceptable(f"no video of {channel} in the range")
    variants.sort(key=lambda v: (v.quality != "source", -v.bandwidth, v.quality))
    return master_playlist(variants).encode()


def _playlist(body: bytes) -> web.Response:
    headers = {"Content-Type": f"{M3U8}; charset=utf-8", "Cache-Control": "no-cache"}
    return web.Response(body=body, headers=headers)


async def media(request: web.Request) -> web.Response:
    app, info = request.app, request.match_info
    channel, quality = info["channel"], info["quality"]
    given = range_params(query(request))
    app[ARCHIVE].path(channel, quality)

    async def compute() -> bytes:
        now = app[CLOCK].now()
        return await asyncio.to_thread(media_text, app[ARCHIVE], channel, quality, given, now)

    text = await app[INFLIGHT].run(("media", channel, quality, given), compute)
    return _playlist(text)


async def master(request: web.Request) -> web.Response:
    app, channel = request.app, request.match_info["channel"]
    given = range_params(query(request))
    app[ARCHIVE].path(channel)

    async def compute() -> bytes:
        now = app[CLOCK].now()
        return await asyncio.to_thread(master_text, app[ARCHIVE], channel, given, now)

    text = await app[INFLIGHT].run(("master", channel, given), compute)
    return _playlist(text)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/playlist/{channel}.m3u8", master)
    app.router.add_get("/playlist/{channel}/{quality}.m3u8", media)
