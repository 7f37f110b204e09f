"""What the simulated chat says, and when. Pure: event ``k`` of a channel is a function of
the channel, ``k`` and the script's origin and rate.

Most events are ``PRIVMSG``s with an ``id`` and a ``tmi-sent-ts``; among them are
``USERNOTICE``s (sub notices, tags escaped as Twitch escapes them), ``CLEARMSG``s (a message
deleted), ``NOTICE``s without ``tmi-sent-ts`` or ``id``, and ``JOIN``/``PART``s, which carry no
tags and are delivered late (up to 30 s, as Twitch's membership messages are).
"""

from __future__ import annotations

import heapq
import math
import zlib
from dataclasses import dataclass

from ..chat.irc import IrcMessage, format_line

#: JOIN/PART are delivered at most this late
MAX_DELAY = 30.0


@dataclass(frozen=True, slots=True)
class ChatEvent:
    index: int
    at: float  # when it happened (unix seconds, sim time)
    deliver_at: float  # when the server sends it
    key: str  # identity: the id tag, or COMMAND:user for untagged events
    line: bytes  # with CR LF
    has_id: bool


def message_uuid(channel: str, index: int) -> str:
    """A UUID-shaped id unique per (channel, index); cheap, since bursts make thousands."""
    return f"{zlib.crc32(channel.encode()):08x}-5eed-4000-8000-{index:012x}"


class ChatScript:
    def __init__(self, channel: str, origin: float, rate: float = 5.0) -> None:
        if rate <= 0:
            raise ValueError("chat rate must be positive")
        self.channel = channel.lower()
        self.origin = origin
        self.rate = rate

    def time_of(self, index: int) -> float:
        return self.origin + index / self.rate

    def event(self, index: int, at: float | None = None) -> ChatEvent:
        at = self.time_of(index) if at is None else at
        kind = index % 20
        channel = f"#{self.channel}"
        ts = str(round(at * 1000))
        ident = message_uuid(self.channel, index)
        user = f"viewer{index}"
        delay = 0.0
        if kind == 3 or kind == 17:
            command = "JOIN" if kind == 3 else "PART"
            who = user if kind == 3 else f"viewer{index - 14}"
            message = IrcMessage(command, (channel,), who, who, f"{who}.tmi.twitch.tv")
            delay = (index * 7919 % 300) / 10.0  # 0 .. 29.9 s late
            return self._event(index, at, at + delay, f"{command}:{who}", message, False)
        if kind == 11:
            text = f"Notice {index}: this room is now in slow mode."
            message = IrcMessage(
                "NOTICE", (channel, text), "tmi.twitch.tv", tags={"msg-id": "slow_on"}
            )
            return self._event(index, at, at, f"NOTICE:{index}", message, False)
        tags: dict[str, str | bool] = {
            "badge-info": "",
            "badges": "subscriber/12,premium/1" if index % 3 else "",
            "color": "#1E90FF",
            "display-name": f"Viewer{index}",
            "emotes": "25:0-4" if index % 4 == 0 else "",
            "id": ident,
            "room-id": "1337",
            "tmi-sent-ts": ts,
            "user-id": str(100000 + index),
        }
        if kind == 7:
            tags |= {
                "msg-id": "resub",
                "login": user,
                "system-msg": f"Viewer{index} subscribed; 12 months\\in a row!\r\n",
            }
            message = IrcMessage("USERNOTICE", (channel, "still here"), "tmi.twitch.tv", tags=tags)
        elif kind == 13:
            tags = {
                "login": f"viewer{index - 1}",
                "room-id": "1337",
                "tmi-sent-ts": ts,
                "target-msg-id": message_uuid(self.channel, index - 1),
                "id": ident,
            }
            message = IrcMessage(
                "CLEARMSG", (channel, "a deleted message"), "tmi.twitch.tv", tags=tags
            )
        else:
            # the common case, written straight out (bursts make thousands a second); nothing
            # in these tags needs escaping
            text = f"Kappa message {index} from the chat \u2713 ;) \u00e9\u00e8 \U0001f600"
            tag_text = ";".join(f"{k}={v}" for k, v in tags.items())
            line = f"@{tag_text} :{user}!{user}@{user}.tmi.twitch.tv PRIVMSG {channel} :{text}\r\n"
            return ChatEvent(index, at, at, ident, line.encode("utf-8"), True)
        return self._event(index, at, at, ident, message, True)

    def _event(
        self, index: int, at: float, deliver_at: float, key: str, message: IrcMessage, has_id: bool
    ) -> ChatEvent:
        line = (format_line(message) + "\r\n").encode("utf-8")
        return ChatEvent(index, at, deliver_at, key, line, has_id)


class ChatFeed:
    """The events of a script as time passes: ``advance(until)`` returns the events delivered
    since the last call, in delivery order (late JOIN/PARTs wait in a heap)."""

    def __init__(self, script: ChatScript, start: float) -> None:
        self.script = script
        self.next_index = max(0, math.ceil((start - script.origin) * script.rate))
        self._pending: list[tuple[float, int, ChatEvent]] = []

    def advance(self, until: float) -> list[ChatEvent]:
        script = self.script
        while script.time_of(self.next_index) <= until:
            event = script.event(self.next_index)
            heapq.heappush(self._pending, (event.deliver_at, event.index, event))
            self.next_index += 1
        due = []
        while self._pending and self._pending[0][0] <= until:
            due.append(heapq.heappop(self._pending)[2])
        return due
