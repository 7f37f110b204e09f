"""Listings and segment files: the wubloader-compatible routes (SPEC §5).

``GET /files[/CHANNEL[/QUALITY[/HOUR]]]`` answer JSON lists (``[]`` when there is nothing);
``GET|HEAD /segments/CHANNEL/QUALITY/HOUR/FILE`` sends a file with ``sendfile``, single byte
ranges, its hash as ``ETag`` and immutable caching (a name never changes its bytes). The same
route serves chat batches (``.json``, hash in the name as well) and tombstones (empty, never as
video); a file hidden by a tombstone of either form is 404.

``GET /extras/DIR`` lists every file under ``BASE/DIR`` (``[]`` when missing), and
``GET /segments/DIR/PATH`` serves them, as wubloader nodes do.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
import re
import stat
from collections.abc import Mapping

from aiohttp import hdrs, web

from ..errors import MalformedName, NotFound, RangeNotSatisfiable
from ..store import safeopen
from ..store.chat_naming import CHAT_SUFFIX, parse_batch_name
from ..store.extras import check_extra_path, list_extra_files
from ..store.naming import (
    SUFFIX,
    TOMBSTONE_SUFFIX,
    file_stem,
    hidden_segment_name,
    name_hash,
    parse_name,
)
from .http import JSON, MP2T, json_response, query
from .params import bool_param
from .sendfile import plain_socket, send_file, set_cork
from .state import ARCHIVE

log = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
#: Served for tombstones and extra files whose kind is unknown: never as video.
OCTETS = "application/octet-stream"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


async def channels(request: web.Request) -> web.Response:
    return json_response(await asyncio.to_thread(request.app[ARCHIVE].channels))


async def qualities(request: web.Request) -> web.Response:
    archive = request.app[ARCHIVE]
    return json_response(await asyncio.to_thread(archive.qualities, request.match_info["channel"]))


async def hours(request: web.Request) -> web.Response:
    archive, info = request.app[ARCHIVE], request.match_info
    names = await asyncio.to_thread(archive.hours, info["channel"], info["quality"])
    return json_response(names)


async def hour_files(request: web.Request) -> web.Response:
    """Segment names of an hour (never ``temp``), and tombstone names with ``tombstones=true``."""
    archive, info = request.app[ARCHIVE], request.match_info
    tombstones = bool_param(query(request), "tombstones")
    names = await asyncio.to_thread(
        archive.hour_names, info["channel"], info["quality"], info["hour"], tombstones
    )
    return json_response(names)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(offset, count)`` of a single byte range; None to send everything.

    Raises ``ValueError`` when the range cannot be satisfied (416).
    """
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None  # multiple ranges or other units: the whole file is a valid answer
    first, last = match[1], match[2]
    if not first and not last:
        return None
    if size == 0:
        raise ValueError("an empty file has no bytes to send")
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), min(suffix, size)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise ValueError("range not satisfiable")
    return start, end - start + 1


def _segment_hash(name: str, channel: str, quality: str, hour: str) -> str:
    found = name_hash(name)
    if found is not None:
        return found
    try:
        return parse_name(channel, quality, hour, name).hash
    except MalformedName as err:
        raise NotFound(f"not a segment file: {err}") from None


def _hidden(path: str) -> bool:
    """A tombstone of either form hides the file (access(2): no exception per request).

    A visible segment costs two access(2) calls (about 1.3 us each): the legacy form is
    renamed at start-up, but one put there later by hand still hides its segment.
    """
    if path.endswith(SUFFIX):
        return os.access(path[: -len(SUFFIX)] + TOMBSTONE_SUFFIX, os.F_OK) or os.access(
            path + TOMBSTONE_SUFFIX, os.F_OK
        )
    return os.access(file_stem(path) + TOMBSTONE_SUFFIX, os.F_OK)


def _kind(name: str, channel: str, quality: str, hour: str) -> tuple[str, str | None, str]:
    """(content type, ETag, Cache-Control) of a file in an hour directory; NotFound if it is
    no file the route serves."""
    if name.endswith(SUFFIX):
        return MP2T, f'"{_segment_hash(name, channel, quality, hour)}"', IMMUTABLE
    if name.endswith(TOMBSTONE_SUFFIX):
        segment_name = hidden_segment_name(name)
        return OCTETS, f'"{_segment_hash(segment_name, channel, quality, hour)}"', IMMUTABLE
    if name.endswith(CHAT_SUFFIX):
        try:
            batch = parse_batch_name(channel, hour, name)
        except MalformedName as err:
            raise NotFound(f"not a chat batch: {err}") from None
        return JSON, f'"{batch.hash}"', IMMUTABLE
    raise NotFound(f"not a segment or chat batch: {name!r}")


async def segment(request: web.Request) -> web.StreamResponse:
    archive, info = request.app[ARCHIVE], request.match_info
    channel, quality, hour, name = info["channel"], info["quality"], info["hour"], info["name"]
    if not name.endswith((SUFFIX, TOMBSTONE_SUFFIX, CHAT_SUFFIX)):
        return await extra_file(request)  # an extra file four levels down
    content_type, etag, caching = _kind(name, channel, quality, hour)
    try:
        fd, path = archive.open_file(channel, quality, hour, name)
    except OSError:
        # missing, a symlink, unreadable: the same answer, naming nothing
        raise NotFound("no such segment") from None
    try:
        size = _regular_size(fd)
        if not name.endswith(TOMBSTONE_SUFFIX) and _hidden(path):
            raise NotFound(f"segment was removed (tombstone): {name}")
        return await send_fd(request, fd, size, content_type, etag, caching)
    finally:
        os.close(fd)


async def extras(request: web.Request) -> web.Response:
    """``/extras/DIR``: every file under ``BASE/DIR`` as relative paths (``[]`` if none)."""
    archive = request.app[ARCHIVE]
    directory = request.match_info["dir"]
    archive.path(directory)  # refuses unsafe names (a symlinked directory lists nothing)
    return json_response(await asyncio.to_thread(list_extra_files, archive.base_dir, directory))


async def extra_file(request: web.Request) -> web.StreamResponse:
    """``/segments/DIR/PATH``: an extra file (or anything else under the base directory that
    is not a hidden part), served as it is and revalidated on every use."""
    archive = request.app[ARCHIVE]
    parts = check_extra_path(request.match_info.get("path") or request.path[len("/segments/") :])
    path = archive.path(*parts)
    try:  # through no symlink at any part, checked as it is opened
        fd = safeopen.open_file(archive.base_dir, parts)
    except OSError:
        raise NotFound("no such file") from None
    try:
        size = _regular_size(fd)
        if _hidden(path):
            raise NotFound(f"file was removed (tombstone): {'/'.join(parts)}")
        content_type = mimetypes.guess_type(parts[-1])[0] or OCTETS
        return await send_fd(request, fd, size, content_type, None, "no-cache")
    finally:
        os.close(fd)


def _regular_size(fd: int) -> int:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise NotFound("not a file")
    return info.st_size


async def send_fd(
    request: web.Request,
    fd: int,
    size: int,
    content_type: str,
    etag: str | None,
    caching: str = IMMUTABLE,
    extra: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Send an open file with conditional requests (given an ``etag``) and single byte ranges;
    ``extra`` headers too (a cut's ``Content-Disposition``)."""
    headers = {
        hdrs.CACHE_CONTROL: caching,
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.CONTENT_TYPE: content_type,
        **(extra or {}),
    }
    if etag is not None:
        headers[hdrs.ETAG] = etag
        matches = _etags(request.headers.get(hdrs.IF_NONE_MATCH, ""))
        if etag in matches or "*" in matches:
            return web.Response(status=304, headers=headers)
    offset, count, status = 0, size, 200
    wanted = request.headers.get(hdrs.RANGE)
    if_range = request.headers.get(hdrs.IF_RANGE)
    if wanted and (if_range is None or (etag is not None and if_range.strip() == etag)):
        try:
            part = parse_range(wanted, size)
        except ValueError:
            headers[hdrs.CONTENT_RANGE] = f"bytes */{size}"
            raise RangeNotSatisfiable("range not satisfiable", headers) from None
        if part is not None:
            offset, count = part
            status = 206
            headers[hdrs.CONTENT_RANGE] = f"bytes {offset}-{offset + count - 1}/{size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = count
    sock = plain_socket(request.transport)
    set_cork(sock, True)
    try:
        await response.prepare(request)
        if request.method != hdrs.METH_HEAD:
            await send_file(request, response, fd, offset, count, sock)
        await response.write_eof()
    except ConnectionError:
        log.debug("client went away while sending %s", request.path)
    finally:
        set_cork(sock, False)
    return response


def _etags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def add_routes(app: web.Application) -> None:
    app.router.add_get("/files", channels)
    app.router.add_get("/files/{channel}", qualities)
    app.router.add_get("/files/{channel}/{quality}", hours)
    app.router.add_get("/files/{channel}/{quality}/{hour}", hour_files)
    app.router.add_get("/segments/{channel}/{quality}/{hour}/{name}", segment)
    app.router.add_get("/segments/{path:.+}", extra_file)
    app.router.add_get("/extras/{dir}", extras)
