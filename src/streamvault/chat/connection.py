"""One IRC connection to Twitch chat for one channel (SPEC §14): log in, request the
capabilities, join, answer PINGs, and hand every line on. The archiver decides what to keep.

``LineSplitter`` (pure) frames the byte stream; ``ChatConnection`` is the asyncio shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import Clock

log = logging.getLogger(__name__)

CAPABILITIES = "twitch.tv/tags twitch.tv/commands twitch.tv/membership"
#: a line longer than this (Twitch's are a few kB) is cut off and counted as a problem
MAX_LINE = 1024 * 1024
READ_SIZE = 256 * 1024


class LineSplitter:
    """Bytes in, complete lines (without CR LF) out; a runaway line is dropped, not kept."""

    __slots__ = ("_rest", "overflowed")

    def __init__(self) -> None:
        self._rest = b""
        self.overflowed = 0

    def feed(self, data: bytes) -> list[bytes]:
        lines = (self._rest + data).split(b"\n") if self._rest else data.split(b"\n")
        self._rest = lines.pop()
        if len(self._rest) > MAX_LINE:
            self._rest = b""
            self.overflowed += 1
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str = "irc.chat.twitch.tv"
    port: int = 6697
    tls: bool = True
    ca_file: str | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True, slots=True)
class Login:
    nick: str
    token: str | None = None  # an OAuth token; never logged

    def lines(self, channel: str) -> list[str]:
        lines = [f"CAP REQ :{CAPABILITIES}"]
        if self.token:
            token = self.token if self.token.startswith("oauth:") else f"oauth:{self.token}"
            lines.append(f"PASS {token}")
        lines += [f"NICK {self.nick}", f"JOIN #{channel}"]
        return lines


class ChatConnection:
    """``run(on_data)`` connects, logs in, joins, then calls ``on_data(lines, n)`` for every
    read until the server closes, the connection fails, or ``close()`` is called. Lines
    starting with ``PING`` are answered here. An idle connection is pinged after ``ping_after``
    seconds and given up after ``idle_timeout``.
    """

    def __init__(
        self,
        address: ServerAddress,
        login: Login,
        channel: str,
        clock: Clock,
        *,
        ping_after: float = 240.0,
        idle_timeout: float = 330.0,
        connect_timeout: float = 30.0,
    ) -> None:
        self.address = address
        self.login = login
        self.channel = channel
        self.clock = clock
        self.ping_after = ping_after
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.splitter = LineSplitter()
        self.end_reason = "closed"
        self._writer: asyncio.StreamWriter | None = None
        self._last_data = 0.0
        self._closing = False

    def send(self, line: str) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(line.encode("utf-8") + b"\r\n")

    def close(self, reason: str) -> None:
        if not self._closing:
            self._closing = True
            self.end_reason = reason
        if self._writer is not None:
            self._writer.close()

    async def run(self, on_data: Callable[[list[bytes]], None]) -> None:
        async with self.clock.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(
                self.address.host, self.address.port, ssl=self.address.ssl_context()
            )
        self._writer = writer
        if self._closing:
            writer.close()
            return
        for line in self.login.lines(self.channel):
            self.send(line)
        self._last_data = self.clock.monotonic()
        watchdog = asyncio.create_task(self._watch())
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    return
                self._last_data = self.clock.monotonic()
                lines = self.splitter.feed(data)
                for raw in lines:
                    if raw.startswith(b"PING"):
                        self.send("PONG" + raw[4:].decode("utf-8", "replace"))
                on_data(lines)
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _watch(self) -> None:
        pinged = False
        while True:
            idle = self.clock.monotonic() - self._last_data
            if idle >= self.idle_timeout:
                log.warning(
                    "[%s] chat connection silent for %.0f s: closing it", self.channel, idle
                )
                self.close("idle")
                return
            if idle >= self.ping_after and not pinged:
                self.send("PING :tmi.twitch.tv")
                pinged = True
            elif idle < self.ping_after:
                pinged = False
            wait = (self.ping_after if not pinged else self.idle_timeout) - idle
            await self.clock.sleep(max(1.0, wait))
