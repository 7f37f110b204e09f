"""The simulator's Twitch chat: an IRC server on its own port (SPEC §10, §14).

It speaks Twitch's dialect: ``CAP REQ`` answered with ``ACK``, ``PASS``/``NICK`` login (any
``justinfanNNNNN`` or token), ``JOIN`` answered with the JOIN echo, NAMES and a tagged
``ROOMSTATE``, ``PING``/``PONG``. Every joined connection of a channel receives the
channel's :class:`~.chat_script.ChatScript` in step with the simulator's clock, while the
channel is live. Faults, on demand: ``disconnect`` (abrupt, optionally refusing that nick
for a while), ``reconnect`` (Twitch's ``RECONNECT``, then a close after a grace), duplicate
delivery of every Nth message, and raw lines (malformed, invalid UTF-8) or bursts.

``sent[channel]`` records the key of every event delivered to at least one connection, so
tests can check that an archive holds each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..chat.irc import IrcMessage, format_line, parse_line
from ..clock import Clock
from ..errors import BadIrcLine
from ..timeutil import to_seconds
from .chat_script import ChatEvent, ChatFeed, ChatScript

log = logging.getLogger(__name__)

SERVER = "tmi.twitch.tv"
#: a client this far behind in reading is dropped, as Twitch drops slow readers
MAX_BACKLOG = 256 * 1024 * 1024
TICK = 0.1  # sim seconds between deliveries
#: burst messages are numbered from here, apart from the regular script
BURST_INDEX = 10**9


@dataclass(slots=True)
class _Client:
    writer: asyncio.StreamWriter
    nick: str = ""
    channels: set[str] = field(default_factory=set)

    def send(self, data: bytes) -> bool:
        """Queue ``data``; False when the connection is closing (nothing was sent)."""
        transport = self.writer.transport
        if transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            log.warning("sim chat: dropping %s, too far behind", self.nick)
            transport.abort()
            return False
        self.writer.write(data)
        return True


def _marker(index: int) -> int:
    """The nearest index at or after ``index`` whose event is a PRIVMSG (it has an id)."""
    while index % 20 in (3, 7, 11, 13, 17):
        index += 1
    return index


def _line(message: IrcMessage) -> bytes:
    return (format_line(message) + "\r\n").encode("utf-8")


class ChatServer:
    def __init__(
        self,
        clock: Clock,
        channels: list[str],
        *,
        rate: float = 5.0,
        duplicate_every: int = 0,
        is_live: Callable[[str], bool] | None = None,
    ) -> None:
        self.clock = clock
        now = to_seconds(clock.now())
        self.scripts = {c.lower(): ChatScript(c, now, rate) for c in channels}
        self.feeds = {name: ChatFeed(script, now) for name, script in self.scripts.items()}
        self.duplicate_every = duplicate_every
        self.is_live = is_live or (lambda channel: True)
        self.clients: list[_Client] = []
        #: while True the script runs on but nothing is delivered (nor counted as sent)
        self.paused = False
        self.sent: dict[str, list[str]] = {name: [] for name in self.scripts}
        #: the nicks each scripted event went to (bursts and raw lines are not recorded here)
        self.delivered: dict[str, frozenset[str]] = {}
        self.connections_opened = 0
        self._bursts: dict[str, int] = {}
        self._refused: dict[str, float] = {}  # nick -> refused until (sim unix seconds)
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.create_task(self._tick())
        log.info("simulated Twitch chat listening on %s:%d", host, self.port)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for task in self._closers:
            task.cancel()
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            client.writer.transport.abort()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5.0)
        if self._server is not None:
            await self._server.wait_closed()

    # -- delivery ----------------------------------------------------------------------------

    def subscribers(self, channel: str) -> list[_Client]:
        return [c for c in self.clients if channel in c.channels]

    def _deliver(self, channel: str, event: ChatEvent) -> None:
        clients = self.subscribers(channel)
        if not clients:
            return
        data = event.line
        if event.has_id and self.duplicate_every and event.index % self.duplicate_every == 0:
            data = data + data
        nicks = frozenset(client.nick for client in clients if client.send(data))
        if nicks:
            self.sent[channel].append(event.key)
            self.delivered[event.key] = nicks

    async def _tick(self) -> None:
        while True:
            now = to_seconds(self.clock.now())
            for channel, feed in self.feeds.items():
                events = feed.advance(now)
                if self.is_live(channel) and not self.paused:
                    for event in events:
                        self._deliver(channel, event)
            await self.clock.sleep(TICK)

    def burst(self, channel: str, count: int) -> list[str]:
        """Send ``count`` more messages at once, timestamped now (a raid, a hype train);
        returns their keys (the last one's message carries an id: a marker tests wait for)."""
        channel = channel.lower()
        script = self.scripts[channel]
        at = to_seconds(self.clock.now())
        clients = self.subscribers(channel)
        chunk: list[bytes] = []
        first = self._bursts.get(channel, BURST_INDEX)
        marker = _marker(first + count - 1)
        self._bursts[channel] = marker + 1
        keys = []
        for index in range(first, first + count):
            event = script.event(index if index < first + count - 1 else marker, at)
            chunk.append(event.line)
            keys.append(event.key)
            if len(chunk) >= 1000:
                for client in clients:
                    client.send(b"".join(chunk))
                chunk = []
        for client in clients:
            client.send(b"".join(chunk))
        if clients:
            self.sent[channel].extend(keys)
        return keys

    def inject(self, channel: str, raw: bytes) -> None:
        """Send raw bytes (a malformed line, invalid UTF-8) to the channel's connections."""
        for client in self.subscribers(channel.lower()):
            client.send(raw)

    # -- faults ------------------------------------------------------------------------------

    def _matching(self, nick: str | None) -> list[_Client]:
        return [c for c in self.clients if nick is None or c.nick == nick]

    def disconnect(
        self, nick: str | None = None, refuse_for: float = 0.0, *, abrupt: bool = True
    ) -> int:
        """Drop connections (all, or ``nick``'s), refusing ``nick`` for a while. ``abrupt``
        resets them (what was queued is lost); otherwise what was sent arrives, then EOF."""
        if nick is not None and refuse_for > 0:
            self._refused[nick] = to_seconds(self.clock.now()) + refuse_for
        clients = self._matching(nick)
        for client in clients:
            if abrupt:
                client.writer.transport.abort()
            else:
                client.writer.close()
        log.info("sim chat: dropped %d connection(s)", len(clients))
        return len(clients)

    def reconnect(self, nick: str | None = None, grace: float = 5.0) -> int:
        """Send RECONNECT, keep delivering for ``grace`` sim seconds, then close."""
        clients = self._matching(nick)
        for client in clients:
            client.send(_line(IrcMessage("RECONNECT", (), SERVER)))
            task = asyncio.create_task(self._close_later(client, grace))
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)
        return len(clients)

    async def _close_later(self, client: _Client, grace: float) -> None:
        await self.clock.sleep(grace)
        client.writer.close()

    # -- one client --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        self.clients.append(client)
        self.connections_opened += 1
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    return
                try:
                    message = parse_line(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
                except BadIrcLine:
                    continue
                if not self._answer(client, message):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.clients.remove(client)
            writer.close()

    def _answer(self, client: _Client, message: IrcMessage) -> bool:
        """Answer one client line; False to close the connection."""
        command, params = message.command, message.params
        if command == "CAP" and len(params) >= 2 and params[0] == "REQ":
            client.send(_line(IrcMessage("CAP", ("*", "ACK", params[-1]), SERVER)))
        elif command == "NICK" and params:
            client.nick = params[0].lower()
            if self._refused.get(client.nick, 0) > to_seconds(self.clock.now()):
                return False
            for code, text in (
                ("001", "Welcome, GLHF!"),
                ("002", f"Your host is {SERVER}"),
                ("375", "-"),
                ("376", ">"),
            ):
                client.send(_line(IrcMessage(code, (client.nick, text), SERVER)))
        elif command == "JOIN" and params:
            for name in params[0].split(","):
                self._join(client, name.lstrip("#").lower())
        elif command == "PART" and params:
            for name in params[0].split(","):
                client.channels.discard(name.lstrip("#").lower())
        elif command == "PING":
            client.send(_line(IrcMessage("PONG", (SERVER, *params[-1:]), SERVER)))
        elif command == "QUIT":
            return False
        return True

    def _join(self, client: _Client, channel: str) -> None:
        nick, target = client.nick, f"#{channel}"
        client.send(_line(IrcMessage("JOIN", (target,), nick, nick, f"{nick}.tmi.twitch.tv")))
        host = f"{nick}.tmi.twitch.tv"
        client.send(_line(IrcMessage("353", (nick, "=", target, nick), host)))
        client.send(_line(IrcMessage("366", (nick, target, "End of /NAMES list"), host)))
        if channel not in self.scripts:
            return
        tags: dict[str, str | bool] = {
            "emote-only": "0",
            "followers-only": "-1",
            "r9k": "0",
            "room-id": "1337",
            "slow": "0",
            "subs-only": "0",
        }
        client.send(_line(IrcMessage("ROOMSTATE", (target,), SERVER, tags=tags)))
        client.channels.add(channel)
