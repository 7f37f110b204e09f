"""Chat batch file names and paths, to the byte (SPEC §3, §14). Pure: no I/O.

``BASE/CHANNEL/chat/HOUR/MM:SS-HASH.json``: HOUR and MM:SS are the UTC start of the 60 s batch
(aligned on the epoch), HASH the SHA-256 of the file's content, URL-safe base64 without padding
(the same encoding as segment hashes). Several files may share one batch time (several nodes, a
reconnect) until a merge folds them into one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import MalformedName
from ..timeutil import hour_name, parse_hour
from .naming import hash_bytes

CHAT_QUALITY = "chat"
CHAT_SUFFIX = ".json"
BATCH_SECONDS = 60

_BATCH_RE = re.compile(r"([0-5]\d):([0-5]\d)-([A-Za-z0-9_-]{43})\.json")


@dataclass(frozen=True, slots=True)
class ChatBatch:
    """One chat batch file, as its path describes it."""

    channel: str
    start: datetime
    hash: str

    @property
    def quality(self) -> str:
        """Batches live beside the video qualities as the quality ``chat`` (SPEC §3)."""
        return CHAT_QUALITY

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=BATCH_SECONDS)

    @property
    def hour(self) -> str:
        return hour_name(self.start)

    @property
    def name(self) -> str:
        return format_batch_name(self.start, self.hash)

    @property
    def path(self) -> str:
        """Path relative to the base directory, always with ``/``."""
        return f"{self.channel}/{CHAT_QUALITY}/{self.hour}/{self.name}"


def batch_start(when: datetime) -> datetime:
    """The start of the 60 s batch (aligned on the epoch) that ``when`` falls in."""
    when = when.astimezone(UTC)
    return when.replace(second=when.second - when.second % BATCH_SECONDS, microsecond=0)


def format_batch_name(start: datetime, content_hash: str) -> str:
    """``MM:SS-HASH.json`` for a batch starting at ``start`` (which must be batch-aligned)."""
    if start.second % BATCH_SECONDS or start.microsecond:
        raise ValueError(f"chat batch start {start.isoformat()} is not aligned on a minute")
    return f"{start.minute:02d}:{start.second:02d}-{content_hash}{CHAT_SUFFIX}"


def batch_name_for(start: datetime, content: bytes) -> str:
    """The name a batch with this content gets: its hash is the content's SHA-256."""
    return format_batch_name(start, hash_bytes(content))


def parse_batch_name(channel: str, hour: str, name: str) -> ChatBatch:
    """Parse ``MM:SS-HASH.json`` inside hour directory ``hour``; MalformedName if it is not one."""
    match = _BATCH_RE.fullmatch(name)
    if match is None:
        raise MalformedName(f"not a chat batch name: {name!r}")
    minute, second, content_hash = match.groups()
    if int(second) % BATCH_SECONDS:
        raise MalformedName(f"chat batch {name!r} does not start on a whole minute")
    try:
        hour_start = parse_hour(hour)
    except ValueError as err:
        raise MalformedName(f"not an hour directory: {hour!r}") from err
    start = hour_start + timedelta(minutes=int(minute), seconds=int(second))
    return ChatBatch(channel=channel, start=start, hash=content_hash)
