"""What one connection's lines mean for the archive. Pure: lines and a receive time in,
messages into the channel's :class:`~.batches.BatchBuffer`, counts out.

Everything before the channel's first ``ROOMSTATE`` is per-connection chatter (welcome
numerics, the capability answer, our own JOIN echo) and is not kept; that ROOMSTATE itself
is not kept either, as wubloader's archiver does, so both record the same messages. After
it, the kept commands (SPEC §14) go to the buffer and the others are counted.
"""

from __future__ import annotations

from collections import Counter

from ..errors import BadIrcLine
from .batches import BatchBuffer
from .emotes import emote_ids
from .irc import decode_line, parse_line
from .messages import KEPT_COMMANDS, TimeEstimator, server_time, to_record

MALFORMED = "malformed"
INVALID_UTF8 = "invalid_utf8"
TOO_LONG = "too_long"


class ConnectionRecorder:
    def __init__(
        self, connection: int, node: str, buffer: BatchBuffer, *, emotes: bool = False
    ) -> None:
        self.connection = connection
        self.node = node
        self.buffer = buffer
        self.estimator = TimeEstimator()
        self.joined = False
        self.reconnect_asked = False
        self.kept: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        #: an example line per kind of problem, for the one log line each kind gets
        self.examples: dict[str, str] = {}
        self.server_lag: float | None = None
        #: the id tag of the newest message kept (tests wait for a marker message with it)
        self.last_id: str | None = None
        #: with ``emotes``: ids from kept messages' ``emotes`` tags, for the caller to take
        self.collect_emotes = emotes
        self.emotes: list[str] = []

    def _problem(self, kind: str, raw: bytes) -> None:
        self.problems[kind] += 1
        self.examples.setdefault(kind, repr(raw[:200]))

    def too_long(self, count: int) -> None:
        self.problems[TOO_LONG] += count
        self.examples.setdefault(TOO_LONG, "a line of over 1 MiB")

    def feed(self, lines: list[bytes], received_at: float) -> None:
        """Take the lines of one read, all received at ``received_at`` (unix seconds)."""
        buffer, connection = self.buffer, self.connection
        for raw in lines:
            if not raw:
                continue
            text, valid = decode_line(raw)
            if not valid:
                self._problem(INVALID_UTF8, raw)
            try:
                message = parse_line(text)
            except BadIrcLine:
                self._problem(MALFORMED, raw)
                continue
            command = message.command
            if command == "RECONNECT":
                self.reconnect_asked = True
                continue
            if not self.joined:
                self.joined = command == "ROOMSTATE"
                continue
            if command not in KEPT_COMMANDS:
                self.ignored[command] += 1
                continue
            sent = server_time(message)
            time, time_range = self.estimator.estimate(message, received_at, sent)
            if sent is not None:
                ident = message.tags.get("id") if message.tags else None
                if isinstance(ident, str):
                    self.last_id = ident
                buffer.narrow(connection, sent)
                self.server_lag = received_at - sent
            buffer.add(connection, to_record(message, self.node, received_at, time, time_range))
            self.kept[command] += 1
            if self.collect_emotes and message.tags:
                self.emotes.extend(emote_ids(message.tags.get("emotes")))
