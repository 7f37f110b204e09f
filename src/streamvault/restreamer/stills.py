"""``GET /frame/CHANNEL/QUALITY.png?timestamp`` and
``GET /waveform/CHANNEL/QUALITY.png?start&end&size`` (SPEC §5 ★), and
``GET /spans/CHANNEL/QUALITY.json?start&end``: what the editor's player and timeline show.

Frames and waveforms are computed by ffmpeg (:func:`streamvault.ffmpeg.ffmpeg_exe`), at most
:data:`WORKERS` at a time, each killed at :data:`DEADLINE` seconds (a real-time deadline on a
real process, not stream time), and kept in a byte-bounded cache keyed by the segment files
they came from (:class:`~.images.ByteCache`).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from PIL import Image

from ..coverage.spans import coverage_spans
from ..cutter.plan import Run, plan_cut
from ..errors import ImageFailed, NotAcceptable
from ..ffmpeg import last_line, start_ffmpeg
from ..store.naming import Segment
from ..store.select import select_segments
from ..timeutil import format_iso
from .archive import Archive
from .http import JSON, query
from .images import ByteCache, WaveformRequest, frame_time, place_runs, waveform_request
from .params import check_implicit, range_params
from .state import ARCHIVE, CLOCK, INFLIGHT, OPENAPI_PATHS
from .stills_openapi import PATHS

log = logging.getLogger(__name__)

PNG = "image/png"
DEADLINE = 20.0  # real seconds: ffmpeg runs in real time, whatever the clock
WORKERS = 2
CACHE_BYTES = 64 * 1024 * 1024
#: ffmpeg's output is refused past this (a 4K frame as PNG is about 25 MB).
MAX_OUTPUT = 48 * 1024 * 1024
WAVE_COLOUR = "#3d7bd9"
_IMAGES = web.AppKey("images", ByteCache)
_WORKERS = web.AppKey("image_workers", asyncio.Semaphore)


async def run_ffmpeg(args: Sequence[str], deadline: float = DEADLINE) -> bytes:
    """ffmpeg's standard output; killed, and :class:`ImageFailed`, past ``deadline`` seconds."""
    proc = await start_ffmpeg(args)
    try:
        async with asyncio.timeout(deadline):
            out, err = await proc.communicate()
    except TimeoutError:
        raise ImageFailed(f"ffmpeg took longer than {deadline:g} s") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise ImageFailed(f"ffmpeg could not decode the video: {last_line(err)}")
    if len(out) > MAX_OUTPUT:
        raise ImageFailed("the image is too large")
    return out


def frame_args(path: str, offset: float) -> list[str]:
    """Decode the segment from its start and keep the frame at ``offset``: a segment has one
    key frame, at its start, which seeking in the input (``-ss`` before ``-i``) can miss."""
    return [
        "-i", path, "-ss", f"{offset:.6f}", "-map", "0:v:0", "-frames:v", "1",
        "-f", "image2pipe", "-c:v", "png", "pipe:1",
    ]  # fmt: skip


def waveform_args(paths: Sequence[str], run: Run, width: int, height: int) -> list[str]:
    graph = (
        f"[0:a:0]asetpts=PTS-STARTPTS,atrim=start={run.offset:.6f}:duration={run.duration:.6f},"
        "aformat=channel_layouts=mono,"
        f"showwavespic=s={width}x{height}:colors={WAVE_COLOUR}:filter=peak:scale=sqrt[out]"
    )
    return [
        "-i", "concat:" + "|".join(paths),
        "-filter_complex", graph, "-map", "[out]", "-frames:v", "1",
        "-f", "image2pipe", "-c:v", "png", "pipe:1",
    ]  # fmt: skip


def segment_at(archive: Archive, channel: str, quality: str, when: datetime) -> Segment:
    archive.require_stream(channel, quality)
    end = when + timedelta(milliseconds=1)
    segments = archive.segments_for_range(channel, quality, when, end)
    for item in select_segments(segments, when, end, archive.size_of):
        if isinstance(item, Segment):
            return item
    raise NotAcceptable("no video at that instant")


def runs_for(archive: Archive, channel: str, quality: str, request: WaveformRequest) -> list[Run]:
    archive.require_stream(channel, quality)
    segments = archive.segments_for_range(channel, quality, request.start, request.end)
    selection = select_segments(segments, request.start, request.end, archive.size_of)
    return list(plan_cut([(selection, request.start, request.end)]).runs)


def compose(request: WaveformRequest, pieces: Sequence[tuple[int, bytes]]) -> bytes:
    """The waveform image: each run's picture pasted at its column; holes stay transparent."""
    canvas = Image.new("RGBA", (request.width, request.height), (0, 0, 0, 0))
    for x, png in pieces:
        with Image.open(io.BytesIO(png)) as piece:
            canvas.paste(piece.convert("RGBA"), (x, 0))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()


async def cached(app: web.Application, key: Hashable, make: Any) -> bytes:
    """The cached value of ``key``, or ``make()`` run once however many ask at the same time."""
    cache = app[_IMAGES]
    found = cache.get(key)
    if found is not None:
        return found

    async def compute() -> bytes:
        async with app[_WORKERS]:
            value: bytes = await make()
        cache.put(key, value)
        return value

    result: bytes = await app[INFLIGHT].run(("image", key), compute)
    return result


def png_response(body: bytes, max_age: int) -> web.Response:
    return web.Response(
        body=body,
        content_type=PNG,
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


async def handle_frame(request: web.Request) -> web.Response:
    archive, info = request.app[ARCHIVE], request.match_info
    channel, quality = info["channel"], info["quality"]
    when = frame_time(query(request))
    archive.path(channel, quality)
    segment = await asyncio.to_thread(segment_at, archive, channel, quality, when)
    offset = max(0.0, (when - segment.start).total_seconds())
    path = archive.segment_path(segment)

    async def make() -> bytes:
        png = await run_ffmpeg(frame_args(path, offset))
        if not png:  # the instant falls after the segment's last frame starts: take that one
            png = await run_ffmpeg(frame_args(path, max(0.0, segment.duration - 0.1)))
        if not png:
            raise ImageFailed("the video there has no frame ffmpeg can decode")
        return png

    body = await cached(request.app, ("frame", segment.path, round(offset, 6)), make)
    return png_response(body, 3600)


async def handle_waveform(request: web.Request) -> web.Response:
    archive, info = request.app[ARCHIVE], request.match_info
    channel, quality = info["channel"], info["quality"]
    wanted = waveform_request(query(request))
    archive.path(channel, quality)
    runs = await asyncio.to_thread(runs_for, archive, channel, quality, wanted)
    if not runs:
        raise NotAcceptable("the range holds no video")
    placements = place_runs(runs, wanted)

    async def piece(index: int) -> tuple[int, bytes] | None:
        placed = placements[index]
        paths = [archive.segment_path(segment) for segment in placed.run.segments]
        try:
            png = await run_ffmpeg(waveform_args(paths, placed.run, placed.width, wanted.height))
        except ImageFailed as err:  # e.g. a run without audio: drawn empty
            log.info("%s/%s: no waveform for a run: %s", channel, quality, err)
            return None
        return (placed.x, png) if png else None

    async def make() -> bytes:
        drawn = [found for i in range(len(placements)) if (found := await piece(i))]
        return await asyncio.to_thread(compose, wanted, drawn)

    key = ("waveform", wanted, tuple((run.start, run.end, run.segments) for run in runs))
    body = await cached(request.app, key, make)
    recent = request.app[CLOCK].now() - wanted.end < timedelta(minutes=5)
    return png_response(body, 10 if recent else 3600)


def spans_json(
    archive: Archive, channel: str, quality: str, start: datetime, end: datetime
) -> bytes:
    """The spans of a range as JSON; kept while the directories it came from are unchanged."""
    archive.require_stream(channel, quality)
    listing = archive.range_listing(channel, quality, start, end)
    key = ("spans", channel, quality, start, end)
    found = archive.results.get(key, listing.versions)
    if found is not None:
        return found
    selection = select_segments(listing.segments, start, end, archive.size_of)
    spans = coverage_spans(selection, start, end)
    first = archive.earliest(channel, quality, None)
    body = {
        "start": format_iso(start),
        "end": format_iso(end),
        "first": None if first is None else format_iso(first),
        "spans": [span.to_json() for span in spans],
    }
    encoded = json.dumps(body).encode()
    archive.results.put(key, listing.versions, encoded)
    return encoded


async def handle_spans(request: web.Request) -> web.Response:
    archive, info = request.app[ARCHIVE], request.match_info
    channel, quality = info["channel"], info["quality"]
    given = range_params(query(request))
    archive.path(channel, quality)
    start, end = given.filled(request.app[CLOCK].now(), timedelta(hours=1))
    check_implicit(start, end, given.explicit)
    body = await asyncio.to_thread(spans_json, archive, channel, quality, start, end)
    return web.Response(body=body, content_type=JSON)


def setup(app: web.Application) -> None:
    app[_IMAGES] = ByteCache(CACHE_BYTES)
    app[_WORKERS] = asyncio.Semaphore(WORKERS)
    app.router.add_get("/frame/{channel}/{quality}.png", handle_frame)
    app.router.add_get("/waveform/{channel}/{quality}.png", handle_waveform)
    app.router.add_get("/spans/{channel}/{quality}.json", handle_spans)
    app[OPENAPI_PATHS].update(PATHS)
