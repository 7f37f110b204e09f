"""Chat messages as the archive stores them (SPEC §14). Pure: no I/O, time passed in.

A message is a JSON object: ``command``, ``params``, ``sender``, ``user``, ``host``,
``tags``, ``receivers`` (``{NODE: received_at}``), ``time`` and ``time_range`` (unix
seconds). :class:`TimeEstimator` decides ``time`` and ``time_range`` for one connection.
"""

from __future__ import annotations

from typing import Any

from .irc import IrcMessage

Message = dict[str, Any]

#: arrive up to 45 s after they happened
DELAYED_COMMANDS = frozenset({"JOIN", "PART"})
#: ranges are ints where wubloader's are (0, 10, 15, +45): ``0`` and ``0.0`` differ in the
#: JSON, and so in the batch's hash.
KEPT_COMMANDS = DELAYED_COMMANDS | frozenset(
    {
        "PRIVMSG",
        "CLEARCHAT",
        "CLEARMSG",
        "HOSTTARGET",
        "NOTICE",
        "ROOMSTATE",
        "USERNOTICE",
        "USERSTATE",
    }
)
DELAY = 45
#: an estimated time is padded by this much on either side
PADDING = 5
#: before any timestamped message: local time - 10 s, with a range of 15 s
UNKNOWN_OFFSET = 2 * PADDING
UNKNOWN_RANGE = 3 * PADDING


def server_time(message: IrcMessage) -> float | None:
    """``tmi-sent-ts`` in seconds, or None when absent or not a number."""
    if not message.tags:
        return None
    value = message.tags.get("tmi-sent-ts")
    if not isinstance(value, str) or not value.isdigit():
        return None
    return int(value) / 1000


class TimeEstimator:
    """Times messages of one connection from the last timestamped message it saw."""

    __slots__ = ("last_received_at", "last_server_time")

    def __init__(self) -> None:
        self.last_server_time: float | None = None
        self.last_received_at = 0.0

    def estimate(
        self, message: IrcMessage, received_at: float, sent: float | None = None
    ) -> tuple[float, float]:
        """(time, time_range) for ``message`` received at ``received_at``; ``sent`` is its
        :func:`server_time` when the caller has it already."""
        if sent is None:
            sent = server_time(message)
        if sent is not None:
            self.last_server_time, self.last_received_at = sent, received_at
            time, time_range = sent, 0
        elif self.last_server_time is not None:
            estimated = self.last_server_time + (received_at - self.last_received_at)
            time, time_range = max(estimated - PADDING, self.last_server_time), 2 * PADDING
        else:
            time, time_range = received_at - UNKNOWN_OFFSET, UNKNOWN_RANGE
        if message.command in DELAYED_COMMANDS:
            time, time_range = time - DELAY, time_range + DELAY
        return time, time_range


def to_record(
    message: IrcMessage, node: str, received_at: float, time: float, time_range: float
) -> Message:
    """The archive's JSON object for ``message``."""
    return {
        "command": message.command,
        "params": list(message.params),
        "sender": message.sender,
        "user": message.user,
        "host": message.host,
        "tags": message.tags,
        "receivers": {node: received_at},
        "time": time,
        "time_range": time_range,
    }


def message_id(message: Message) -> str | None:
    tags = message.get("tags")
    if isinstance(tags, dict):
        value = tags.get("id")
        if isinstance(value, str) and value:
            return value
    return None
