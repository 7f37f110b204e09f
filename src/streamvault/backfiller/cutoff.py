"""When the recent cut-off applies (SPEC §8).

The cut-off keeps a node from copying what its own downloader is about to fetch, so it holds
for a (channel, quality) only while something records that stream here: while its newest
segment not copied by this backfiller started less than the cut-off ago. Where nothing
records it (no downloader, or one that is down or behind), copies start at once, so a node
whose recorder fails is never a cut-off behind.

The evidence is on disk, so it holds for a backfiller beside a separate downloader process
as for the one in ``streamvault node``. After a restart this backfiller's earlier copies look
recorded until they are a cut-off old: one cut-off of delay at most, once.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from ..clock import Clock
from ..store.disk import SegmentStore
from ..timeutil import hours_between

NONE = timedelta(0)
#: Segment paths this backfiller copied that are remembered (only the newest matter).
REMEMBERED = 16384
#: How long one look at a stream's newest segment is reused (monotonic seconds).
REUSE = 1.0


def effective_cutoff(
    cutoff: timedelta, newest_recorded: datetime | None, now: datetime
) -> timedelta:
    """The cut-off for a stream whose newest recorded segment started at ``newest_recorded``."""
    if newest_recorded is None or now - newest_recorded >= cutoff:
        return NONE
    return cutoff


class OwnCopies:
    """The paths of the segments this backfiller copied, newest kept (bounded)."""

    def __init__(self, bound: int = REMEMBERED) -> None:
        self._paths: OrderedDict[str, None] = OrderedDict()
        self.bound = bound

    def add(self, path: str) -> None:
        self._paths[path] = None
        if len(self._paths) > self.bound:
            self._paths.popitem(last=False)

    def __contains__(self, path: object) -> bool:
        return path in self._paths


class RecentCutoff:
    """The cut-off of each stream now, from the newest segments on disk."""

    def __init__(
        self, store: SegmentStore, clock: Clock, cutoff: timedelta, own: OwnCopies
    ) -> None:
        self.store = store
        self.clock = clock
        self.cutoff = cutoff
        self.own = own
        self._seen: dict[tuple[str, str], tuple[float, datetime | None]] = {}

    def __call__(self, channel: str, quality: str) -> timedelta:
        if self.cutoff <= NONE:
            return NONE
        key = (channel, quality)
        now = self.clock.monotonic()
        seen = self._seen.get(key)
        if seen is None or now - seen[0] >= REUSE:
            seen = self._seen[key] = (now, self._newest_recorded(channel, quality))
        return effective_cutoff(self.cutoff, seen[1], self.clock.now())

    def _newest_recorded(self, channel: str, quality: str) -> datetime | None:
        now = self.clock.now()
        for hour in reversed(hours_between(now - self.cutoff, now)):
            starts = [
                segment.start
                for segment in self.store.segments(channel, quality, hour).segments
                if segment.path not in self.own
            ]
            if starts:
                return max(starts)
        return None
