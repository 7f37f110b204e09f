"""Corking around a response: a socket left corked would hold the next answer back 200 ms."""

from __future__ import annotations

import asyncio
import socket

import pytest

from streamvault.restreamer.sendfile import TCP_CORK, plain_socket, set_cork

pytestmark = pytest.mark.skipif(TCP_CORK is None, reason="TCP_CORK is Linux only")


async def _connected_transport() -> tuple[asyncio.Transport, asyncio.Server]:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await asyncio.get_running_loop().create_connection(
        asyncio.Protocol, "127.0.0.1", port
    )
    return transport, server


def _cork_state(sock: socket.socket) -> int:
    return int(sock.getsockopt(socket.IPPROTO_TCP, TCP_CORK))


async def test_cork_and_release_a_tcp_socket() -> None:
    transport, server = await _connected_transport()
    try:
        sock = plain_socket(transport)
        assert sock is not None
        set_cork(sock, True)
        assert _cork_state(sock) == 1
        set_cork(sock, False)
        assert _cork_state(sock) == 0
    finally:
        transport.close()
        server.close()
        await server.wait_closed()


async def test_a_unix_socket_or_no_socket_is_left_alone() -> None:
    left, right = socket.socketpair()
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, left)
    try:
        set_cork(plain_socket(transport), True)  # no TCP_CORK on a Unix socket: no error either
        set_cork(None, True)
    finally:
        transport.close()
        right.close()
