"""Sending file bytes with ``sendfile(2)`` after the headers, as aiohttp's FileResponse does,
but for any response whose length is known (a segment, a byte range, a rough cut)."""

from __future__ import annotations

import asyncio
import errno
import os
import socket

from aiohttp import web

CHUNK = 1024 * 1024
# Read once, as aiohttp does: looking it up per request costs more than the check is worth.
NO_SENDFILE = bool(os.environ.get("AIOHTTP_NOSENDFILE"))
TCP_CORK = getattr(socket, "TCP_CORK", None)  # Linux only


async def _fallback(response: web.StreamResponse, fd: int, offset: int, count: int) -> None:
    while count > 0:
        chunk = await asyncio.to_thread(os.pread, fd, min(CHUNK, count), offset)
        if not chunk:
            raise ConnectionResetError("file shrank while being sent")
        await response.write(chunk)
        offset += len(chunk)
        count -= len(chunk)


async def send_file(
    request: web.Request,
    response: web.StreamResponse,
    fd: int,
    offset: int,
    count: int,
    sock: socket.socket | None,
) -> None:
    """Send ``count`` bytes of the open file ``fd`` from ``offset`` as (part of) a prepared
    response body. ``sock`` is :func:`plain_socket` of the request's transport.

    The response must have a ``Content-Length`` and no compression, so the bytes can bypass
    aiohttp's writer.
    """
    if count <= 0:
        return
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("client went away")
    if NO_SENDFILE:
        await _fallback(response, fd, offset, count)
        return
    sent = 0 if sock is None else _sendfile_now(transport, sock, fd, offset, count)
    if sent == count:
        return
    with os.fdopen(fd, "rb", buffering=0, closefd=False) as file:  # what loop.sendfile takes
        try:
            await asyncio.get_running_loop().sendfile(transport, file, offset + sent, count - sent)
        except NotImplementedError:
            await _fallback(response, fd, offset + sent, count - sent)


def plain_socket(transport: asyncio.BaseTransport | None) -> socket.socket | None:
    """The socket under a plain (not TLS) transport, for direct system calls; else None."""
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    sock: socket.socket | None = transport.get_extra_info("socket")
    return sock


def set_cork(sock: socket.socket | None, on: bool) -> None:
    """Hold back (``on``) or release partial packets while headers and file bytes go out.

    Without it a response's headers leave as a packet of their own, and the client wakes up
    (and, over loopback, this process pays for its TCP receive work) twice per response; nginx
    does the same with ``tcp_nopush``. Releasing sends whatever is left at once, so every
    cork must be released, also on error.
    """
    if sock is None or TCP_CORK is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, on)
    except (OSError, ValueError):
        pass  # not TCP (a Unix socket), or the client is gone (closed: ValueError on some loops)


def _sendfile_now(
    transport: asyncio.BaseTransport, sock: socket.socket, fd: int, offset: int, count: int
) -> int:
    """Send what the socket takes right now, without waiting; the number of bytes sent.

    ``loop.sendfile`` costs a dozen event-loop steps and system calls per call (pause reading,
    wait for an empty buffer, register a writer, ...). Most segments fit in the socket's send
    buffer at once, so one direct ``sendfile`` usually does the whole job. Only safe on a plain
    transport with nothing buffered, or the bytes would go out of order.
    """
    if not isinstance(transport, asyncio.WriteTransport) or transport.get_write_buffer_size():
        return 0
    try:
        return os.sendfile(sock.fileno(), fd, offset, count)
    except BlockingIOError:
        return 0
    except OSError as err:
        if err.errno in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK):
            return 0  # not a file sendfile can read: let loop.sendfile choose its fallback
        raise ConnectionResetError(f"client went away: {err}") from err
