"""Archived chat for the editor's tests: the simulator's chat script for a past range, turned
into archive messages as the archiver turns received lines into them, and written as batch
files through the chat store (a live archiver would need the past to happen again).

One message of the range is hostile: its display name and text are HTML meant to run, which
the editor must show as text.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from streamvault.chat.irc import IrcMessage, parse_line
from streamvault.chat.messages import KEPT_COMMANDS, Message, TimeEstimator, to_record
from streamvault.chat.store import ChatStore
from streamvault.sim.chat_script import ChatScript
from streamvault.timeutil import to_seconds

NODE = "web-test"
RATE = 2.0  # messages a second
HOSTILE_AT = 50.25  # seconds into the range (between two scripted messages)
HOSTILE_TEXT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
HOSTILE_NAME = "<b>Mallory</b>"


def hostile(channel: str, at: float) -> IrcMessage:
    tags: dict[str, str | bool] = {
        "color": "#FF0000",
        "display-name": HOSTILE_NAME,
        "id": "0bad0bad-5eed-4000-8000-000000000000",
        "tmi-sent-ts": str(round(at * 1000)),
    }
    return IrcMessage("PRIVMSG", (f"#{channel}", HOSTILE_TEXT), "mallory", "mallory", "m.tmi", tags)


def write_chat(base: Path, channel: str, start: datetime, seconds: float) -> list[Message]:
    """The script's messages of ``[start, start + seconds)`` and the hostile one, archived as
    received on time (JOIN/PART late as Twitch sends them); returns what was written."""
    origin = to_seconds(start)
    script = ChatScript(channel, origin, RATE)
    estimator = TimeEstimator()
    events = [script.event(index) for index in range(int(seconds * RATE))]
    received = [(e.deliver_at, parse_line(e.line.decode().rstrip("\r\n"))) for e in events]
    received.append((origin + HOSTILE_AT, hostile(channel, origin + HOSTILE_AT)))
    received.sort(key=lambda pair: pair[0])
    messages = []
    for at, irc in received:
        if irc.command not in KEPT_COMMANDS:
            continue
        time, time_range = estimator.estimate(irc, at)
        messages.append(to_record(irc, NODE, at, time, time_range))
    ChatStore(str(base)).write(channel, messages)
    return messages
