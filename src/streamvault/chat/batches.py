"""Chat batch content, to the byte (SPEC §14), and the buffer of batches not yet written.

Pure: no I/O. A batch holds the messages whose ``time`` falls in one 60 s window aligned on
the epoch. Its content is each message as JSON with separators ``,`` and ``:`` and sorted
keys, sorted by (time, time_range, that text) and joined by ``\\n``, with the final ``\\n``
and the ASCII-only escapes (``ensure_ascii``) that wubloader's archiver writes, so that both
give the same bytes, and so the same hash and name, for the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from ..store.chat_naming import BATCH_SECONDS
from .merge import merge_all
from .messages import Message

#: untimed messages kept per connection for narrowing by a later timestamp
MAX_UNTIMED = 256
#: a batch is written once its end plus this much lag has passed
ALLOWED_LAG = 60.0

_encoder = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def canonical(message: Message) -> str:
    return _encoder.encode(message)


def encode_batch(messages: Iterable[Message]) -> bytes:
    lines = sorted((m["time"], m["time_range"], canonical(m)) for m in messages)
    return ("\n".join(line for _, _, line in lines) + "\n").encode("ascii")


def decode_batch(content: bytes) -> list[Message]:
    """The messages of a batch file; ValueError when a line is not a JSON object."""
    messages = []
    for line in content.decode("utf-8", "surrogateescape").splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if not isinstance(message, dict) or "time" not in message:
            raise ValueError("a batch line is not a chat message")
        messages.append(message)
    return messages


def batch_time(time: float) -> int:
    """The epoch second the batch holding a message at ``time`` starts at."""
    return int(time // BATCH_SECONDS) * BATCH_SECONDS


def batch_datetime(start: int) -> datetime:
    return datetime.fromtimestamp(start, UTC)


class BatchBuffer:
    """Messages not yet written, per batch start, per connection.

    ``add`` files a message; ``narrow`` applies what a timestamped message says about the
    untimed ones before it; ``closable(now)`` takes out the batches whose time plus 60 s plus
    the allowed lag has passed, each merged across the connections that fed it (a
    ``RECONNECT`` overlap delivers the same messages twice). ``drain()`` takes out the rest.
    """

    def __init__(self, lag: float = ALLOWED_LAG) -> None:
        self.lag = lag
        self._batches: dict[int, dict[int, list[Message]]] = {}
        # per connection: untimed messages a later timestamp may still narrow (bounded)
        self._untimed: dict[int, list[Message]] = {}
        self.size = 0

    def __len__(self) -> int:
        return len(self._batches)

    def add(self, connection: int, message: Message) -> None:
        start = batch_time(message["time"])
        self._batches.setdefault(start, {}).setdefault(connection, []).append(message)
        self.size += 1
        if message["time_range"] > 0:
            untimed = self._untimed.setdefault(connection, [])
            untimed.append(message)
            if len(untimed) > MAX_UNTIMED:
                del untimed[: len(untimed) - MAX_UNTIMED]  # they keep their wider range

    def narrow(self, connection: int, sent: float) -> None:
        """A message sent at ``sent`` arrived: untimed messages received before it on the same
        connection happened before ``sent``, so their ranges end there at the latest. Those
        that start before ``sent`` are settled then (later timestamps are later still)."""
        untimed = self._untimed.get(connection)
        if not untimed:
            return
        keep = []
        for message in untimed:
            between = sent - message["time"]
            if between <= 0:
                keep.append(message)
            elif between < message["time_range"]:
                message["time_range"] = between
        self._untimed[connection] = keep

    def next_close(self) -> float | None:
        """When the oldest open batch may be written (epoch seconds), None when none is open."""
        if not self._batches:
            return None
        return min(self._batches) + BATCH_SECONDS + self.lag

    def closable(self, now: float) -> list[tuple[int, list[Message]]]:
        ready = [start for start in self._batches if now >= start + BATCH_SECONDS + self.lag]
        return [self._take(start) for start in sorted(ready)]

    def drain(self) -> list[tuple[int, list[Message]]]:
        return [self._take(start) for start in sorted(self._batches)]

    def _take(self, start: int) -> tuple[int, list[Message]]:
        by_connection = self._batches.pop(start)
        self.size -= sum(len(messages) for messages in by_connection.values())
        for connection, untimed in self._untimed.items():  # written: no longer to narrow
            self._untimed[connection] = [m for m in untimed if batch_time(m["time"]) != start]
        return start, merge_all(by_connection.values())
