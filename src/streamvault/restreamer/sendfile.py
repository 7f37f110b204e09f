"""Sending file bytes with ``sendfile(2)`` after the headers, as aiohttp's FileResponse does,
but for any response whose length is known (a segment, a byte range, a rough cut)."""

from __future__ import annotations

import asyncio
import os
from typing import BinaryIO

from aiohttp import web

CHUNK = 1024 * 1024


async def _fallback(response: web.StreamResponse, file: BinaryIO, offset: int, count: int) -> None:
    file.seek(offset)
    while count > 0:
        chunk = await asyncio.to_thread(file.read, min(CHUNK, count))
        if not chunk:
            raise ConnectionResetError("file shrank while being sent")
        await response.write(chunk)
        count -= len(chunk)


async def send_file(
    request: web.Request, response: web.StreamResponse, file: BinaryIO, offset: int, count: int
) -> None:
    """Send ``count`` bytes of ``file`` from ``offset`` as (part of) a prepared response body.

    The response must have a ``Content-Length`` and no compression, so the bytes can bypass
    aiohttp's writer.
    """
    if count <= 0:
        return
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("client went away")
    if os.environ.get("AIOHTTP_NOSENDFILE"):
        await _fallback(response, file, offset, count)
        return
    try:
        await asyncio.get_running_loop().sendfile(transport, file, offset, count)
    except NotImplementedError:
        await _fallback(response, file, offset, count)
