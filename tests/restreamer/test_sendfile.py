"""Corking around a response: a socket left corked would hold the next answer back 200 ms."""

from __future__ import annotations

import asyncio
import socket

import pytest

from streamvault.restreamer.sendfile import TCP_CORK, corked

pytestmark = pytest.mark.skipif(TCP_CORK is None, reason="TCP_CORK is Linux only")


async def _connected_transport() -> tuple[asyncio.Transport, asyncio.Server]:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await asyncio.get_running_loop().create_connection(
        asyncio.Protocol, "127.0.0.1", port
    )
    return transport, server


def _cork_state(transport: asyncio.Transport) -> int:
    sock = transport.get_extra_info("socket")
    return int(sock.getsockopt(socket.IPPROTO_TCP, TCP_CORK))


async def test_the_socket_is_corked_inside_and_uncorked_after_even_on_error() -> None:
    transport, server = await _connected_transport()
    try:
        with corked(transport):
            assert _cork_state(transport) == 1
        assert _cork_state(transport) == 0
        with pytest.raises(ConnectionResetError), corked(transport):
            raise ConnectionResetError("client went away")
        assert _cork_state(transport) == 0
    finally:
        transport.close()
        server.close()
        await server.wait_closed()


async def test_a_unix_socket_is_left_alone() -> None:
    left, right = socket.socketpair()
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, left)
    try:
        with corked(transport):
            pass  # no TCP_CORK on a Unix socket: no error either
    finally:
        transport.close()
        right.close()
