"""Cuts over HTTP (SPEC §7): ``GET /cut/CHANNEL/QUALITY.ts?start&end|range&type&allow_holes``.

``rough``, ``fast`` and ``smart`` (when its runs join up) are sent with a ``Content-Length``:
the few re-encoded edges are made first, then the copied segments go out with ``sendfile``.
``mpegts`` re-encodes and the remuxing ``smart`` stream ffmpeg's output as it comes. ``mp4`` and
``webm``, the files browsers open, are rendered whole first and sent as files with ranges
(:mod:`.rendered`). When the client goes away the ffmpeg process is killed: the handler polls
the connection while it waits for output, so a disconnect is noticed within :data:`POLL`
seconds even while ffmpeg is still encoding and has nothing to send yet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncGenerator, Mapping
from datetime import datetime

from aiohttp import hdrs, web

from ..cutter.plan import CONTENT_TYPES, EXTENSIONS, CutPlan, CutType, plan_cut
from ..cutter.run import (
    Part,
    cut,
    fast_parts,
    render_file,
    smart_parts,
    smart_remux,
)
from ..errors import CutFailed, NotAcceptable
from ..store.select import TOLERANCE, Hole, select_segments
from ..timeutil import format_iso
from .archive import Archive
from .files import send_fd
from .http import query
from .params import bool_param, cut_ranges, cut_type
from .sendfile import plain_socket, send_file
from .state import ARCHIVE, RENDERED

log = logging.getLogger(__name__)

POLL = 0.25  # real seconds: how often the socket is looked at, whatever the clock
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def plan_for(
    archive: Archive, channel: str, quality: str, ranges: list[tuple[datetime, datetime]]
) -> CutPlan:
    archive.require_stream(channel, quality)
    selections = []
    for start, end in ranges:
        segments = archive.segments_for_range(channel, quality, start, end)
        selections.append((select_segments(segments, start, end, archive.size_of), start, end))
    return plan_cut(selections)


def check_plan(plan: CutPlan, allow_holes: bool) -> None:
    if not plan.runs:
        raise NotAcceptable("the range holds no video")
    if plan.holes and not allow_holes:
        raise NotAcceptable(
            f"the range holds {len(plan.holes)} hole(s), the first {_where(plan.holes[0])}; "
            "add allow_holes=true to cut anyway"
        )


def _where(hole: Hole) -> str:
    if hole.end - hole.start > TOLERANCE:
        return f"from {format_iso(hole.start)} to {format_iso(hole.end)}"
    # no time is missing for sure: a suspect or partial segment ends here, maybe cut short
    return (
        f"at {format_iso(hole.start)}, where a suspect or partial segment ends "
        "(its last moments may be missing)"
    )


def _filename(channel: str, quality: str, plan: CutPlan, type: CutType) -> str:
    """A download name safe in a header: ``CHANNEL-QUALITY-START.EXT``, odd characters as ``_``."""
    start = plan.runs[0].start.strftime("%Y-%m-%dT%H-%M-%S")
    name = f"{channel}-{quality}-{start}"
    return _UNSAFE.sub("_", name) + f".{EXTENSIONS.get(type, 'ts')}"


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _next(chunks: AsyncGenerator[bytes, None]) -> bytes:
    return await chunks.__anext__()


async def stream(
    request: web.Request, response: web.StreamResponse, chunks: AsyncGenerator[bytes, None]
) -> None:
    """Write every chunk; stop (closing ``chunks``, which kills ffmpeg) if the client leaves."""
    async with contextlib.aclosing(chunks):
        while True:
            pending = asyncio.ensure_future(_next(chunks))
            try:
                while not (await asyncio.wait({pending}, timeout=POLL))[0]:
                    if client_gone(request):
                        raise ConnectionResetError("client went away during a cut")
            except BaseException:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
                raise
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                return
            await response.write(chunk)


def _size(part: Part) -> int:
    return len(part) if isinstance(part, bytes) else os.stat(part).st_size


async def send_parts(request: web.Request, response: web.StreamResponse, parts: list[Part]) -> None:
    """Encoded bytes and whole segment files, with a Content-Length; files go by sendfile."""
    sizes = await asyncio.to_thread(lambda: [_size(part) for part in parts])
    response.content_length = sum(sizes)
    await response.prepare(request)
    if request.method == hdrs.METH_HEAD:
        return
    sock = plain_socket(request.transport)
    for part, size in zip(parts, sizes, strict=True):
        if isinstance(part, bytes):
            await response.write(part)
            continue
        fd = await asyncio.to_thread(os.open, part, os.O_RDONLY)
        try:
            if os.fstat(fd).st_size != size:
                raise ConnectionResetError(f"segment changed while cutting: {part}")
            await send_file(request, response, fd, 0, size, sock)
        finally:
            os.close(fd)


async def _parts(plan: CutPlan, type: CutType, archive: Archive) -> list[Part] | None:
    """Parts of a cut that can be sent with a length; None when it must be streamed."""
    if type == "rough":
        return [archive.segment_path(segment) for segment in plan.segments]
    if type == "fast":
        return await fast_parts(plan, archive.segment_path)
    if type == "smart":
        return await smart_parts(plan, archive.segment_path)
    return None


async def handle_cut(request: web.Request) -> web.StreamResponse:
    archive, info = request.app[ARCHIVE], request.match_info
    channel, quality = info["channel"], info["quality"]
    params = query(request)
    ranges, type = cut_ranges(params), cut_type(params)
    allow_holes = bool_param(params, "allow_holes")
    archive.path(channel, quality)
    plan = await asyncio.to_thread(plan_for, archive, channel, quality, ranges)
    check_plan(plan, allow_holes)
    disposition = f'inline; filename="{_filename(channel, quality, plan, type)}"'
    response = web.StreamResponse(
        headers={hdrs.CONTENT_TYPE: CONTENT_TYPES[type], hdrs.CONTENT_DISPOSITION: disposition}
    )
    log.info(
        "%s/%s: %s cut of %.1f s in %d run(s)",
        channel,
        quality,
        type,
        plan.duration,
        len(plan.runs),
    )
    try:
        if type in BROWSER_FILES:
            return await _send_rendered(request, response.headers, plan, type, archive)
        if await _send_cut(request, response, plan, type, archive):
            await response.write_eof()
    except ConnectionError:
        log.info("%s/%s: client went away during a %s cut", channel, quality, type)
    return response


#: Cuts browsers open: rendered to a file first, then served with a length and byte ranges.
BROWSER_FILES = frozenset(("mp4", "webm"))


async def _send_rendered(
    request: web.Request,
    headers: Mapping[str, str],
    plan: CutPlan,
    type: CutType,
    archive: Archive,
) -> web.StreamResponse:
    """A complete file (SPEC §5): ``Content-Length``, ranges, the true duration; the rendered
    file is kept a while for the next range request of the same cut (:mod:`.rendered`)."""
    key = (
        type,
        tuple(segment.path for segment in plan.segments),
        tuple((run.start, run.end) for run in plan.runs),
    )

    async def render(output: str) -> None:
        await render_file(plan, archive.segment_path, type, output)

    leased = request.app[RENDERED].lease(
        key, render, f".{EXTENSIONS[type]}", lambda: client_gone(request)
    )
    extra: dict[str, str] = {hdrs.CONTENT_DISPOSITION: headers[hdrs.CONTENT_DISPOSITION]}
    try:
        async with leased as path:
            fd = os.open(path, os.O_RDONLY)
            try:
                size = os.fstat(fd).st_size
                etag = f'"{os.path.basename(path).split(".")[0]}"'  # one name per render
                content_type = headers[hdrs.CONTENT_TYPE]
                return await send_fd(request, fd, size, content_type, etag, "no-cache", extra)
            finally:
                os.close(fd)
    except CutFailed as err:
        log.error("%s cut failed: %s", type, err)
        raise NotAcceptable(f"ffmpeg could not cut this range: {err}") from None


async def _send_cut(
    request: web.Request,
    response: web.StreamResponse,
    plan: CutPlan,
    type: CutType,
    archive: Archive,
) -> bool:
    """Send the cut; False when it failed after the headers went out (the connection is closed)."""
    head = request.method == hdrs.METH_HEAD
    try:
        parts = None if head and type != "rough" else await _parts(plan, type, archive)
    except CutFailed as err:
        log.error("%s cut failed: %s", type, err)
        raise NotAcceptable(f"ffmpeg could not cut this range: {err}") from None
    if parts is not None:
        await send_parts(request, response, parts)
        return True
    await response.prepare(request)
    if head:
        return True
    chunks = smart_remux(plan, archive.segment_path) if type == "smart" else None
    try:
        await stream(request, response, chunks or cut(plan, type, archive.segment_path))
    except CutFailed as err:
        log.error("%s cut failed: %s", type, err)
        if request.transport is not None:
            request.transport.close()  # the client must not take a cut-short file as whole
        return False
    return True


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cut/{channel}/{quality}.ts", handle_cut)
