"""Sending file bytes with ``sendfile(2)`` after the headers, as aiohttp's FileResponse does,
but for any response whose length is known (a segment, a byte range, a rough cut)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from typing import BinaryIO

from aiohttp import web

CHUNK = 1024 * 1024
# Read once, as aiohttp does: looking it up per request costs more than the check is worth.
NO_SENDFILE = bool(os.environ.get("AIOHTTP_NOSENDFILE"))
TCP_CORK = getattr(socket, "TCP_CORK", None)  # Linux only


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
    if NO_SENDFILE:
        await _fallback(response, file, offset, count)
        return
    sent = _sendfile_now(transport, file, offset, count)
    if sent == count:
        return
    try:
        await asyncio.get_running_loop().sendfile(transport, file, offset + sent, count - sent)
    except NotImplementedError:
        await _fallback(response, file, offset + sent, count - sent)


@contextlib.contextmanager
def corked(transport: asyncio.BaseTransport | None) -> Iterator[None]:
    """Hold back partial packets while headers and file bytes are handed to the socket.

    Without it the headers leave as a packet of their own, and the client wakes up (and, over
    loopback, this process pays for its TCP receive work) twice per response; nginx does the
    same with ``tcp_nopush``. Uncorking at the end sends whatever is left at once.
    """
    sock = _plain_socket(transport) if TCP_CORK is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 1)  # type: ignore[arg-type]
        except OSError:
            sock = None  # not TCP (a Unix socket): nothing to cork
    try:
        yield
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):  # the client may be gone already
                sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 0)  # type: ignore[arg-type]


def _plain_socket(transport: asyncio.BaseTransport | None) -> socket.socket | None:
    """The TCP socket under a plain (not TLS) transport, for direct system calls."""
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    sock = transport.get_extra_info("socket")
    return sock if sock is not None and sock.type == socket.SOCK_STREAM else None


def _sendfile_now(transport: asyncio.BaseTransport, file: BinaryIO, offset: int, count: int) -> int:
    """Send what the socket takes right now, without waiting; the number of bytes sent.

    ``loop.sendfile`` costs a dozen event-loop steps and system calls per call (pause reading,
    wait for an empty buffer, register a writer, ...). Most segments fit in the socket's send
    buffer at once, so one direct ``sendfile`` usually does the whole job. Only safe on a plain
    TCP transport with nothing buffered, or the bytes would go out of order.
    """
    if not isinstance(transport, asyncio.WriteTransport) or transport.get_write_buffer_size():
        return 0
    sock = _plain_socket(transport)
    if sock is None:
        return 0
    try:
        return os.sendfile(sock.fileno(), file.fileno(), offset, count)
    except BlockingIOError:
        return 0
    except OSError as err:
        if err.errno in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK):
            return 0  # not a file sendfile can read: let loop.sendfile choose its fallback
        raise ConnectionResetError(f"client went away: {err}") from err
