"""Coverage of the chat archive: batches per hour and gaps in the message stream. Pure.

A batch file exists for every minute in which the archiver kept at least one message, so on a
channel with live chat a missing minute between two batches is a gap: the archiver (and every
node it replicated from) was down, or the chat was silent. Computed from batch start times
alone (the file names), so it costs a directory listing, not a read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from ..store.chat_naming import BATCH_SECONDS
from ..timeutil import format_iso, hour_name
from .batches import batch_datetime


@dataclass(frozen=True, slots=True)
class ChatGap:
    start: int  # epoch seconds: the first minute without a batch
    end: int  # the next minute with one

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class ChatCoverage:
    batches: int  # batch minutes (several files of one minute count once)
    files: int
    per_hour: dict[str, int]
    gaps: tuple[ChatGap, ...]

    @property
    def gap_seconds(self) -> int:
        return sum(gap.seconds for gap in self.gaps)

    def to_json(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "files": self.files,
            "unmerged": self.files - self.batches,
            "hours": dict(sorted(self.per_hour.items())),
            "gaps": [
                {
                    "start": format_iso(batch_datetime(gap.start)),
                    "end": format_iso(batch_datetime(gap.end)),
                    "seconds": gap.seconds,
                }
                for gap in self.gaps
            ],
            "gap_seconds": self.gap_seconds,
        }


def chat_coverage(
    starts: Iterable[int], start: datetime | None = None, end: datetime | None = None
) -> ChatCoverage:
    """Coverage of the batch files starting at ``starts`` (one entry per file), limited to
    batches in ``[start, end)`` when given. Gaps lie between the first and the last batch: the
    time before chat was first archived or after its newest batch is no data, not a gap."""
    low = None if start is None else start.timestamp()
    high = None if end is None else end.timestamp()
    files = Counter(
        t
        for t in starts
        if (low is None or t >= low - BATCH_SECONDS + 1) and (high is None or t < high)
    )
    minutes = sorted(files)
    per_hour = Counter(hour_name(batch_datetime(t)) for t in minutes)
    gaps = tuple(
        ChatGap(before + BATCH_SECONDS, after)
        for before, after in pairwise(minutes)
        if after - before > BATCH_SECONDS
    )
    return ChatCoverage(len(minutes), sum(files.values()), dict(per_hour), gaps)
