"""The safety valve on tombstones from peers (SPEC §3, §8). Pure bookkeeping: no I/O.

Tombstones replicate, so one peer (broken or hostile) could hide an archive. A batch of
tombstones for one hour is written only while everything replicated into that hour since this
process started, plus the batch, hides at most ``max_share`` of the segments known in the hour
(here or on the peers). A larger batch is held back until an operator accepts the hour
(``streamvault backfill --accept-tombstones HOUR``, or ``accept_tombstones`` in the node's
settings). Counting since start-up, not per batch, keeps a peer from hiding an hour one
tombstone at a time.
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

DEFAULT_MAX_SHARE = 0.10
#: Hours remembered (replicated counts, held hours); the oldest are forgotten first.
MAX_HOURS = 10_000

Key = tuple[str, str, str]  # (channel, quality, hour)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    share: float  # of the hour's known segments hidden if the batch were written
    hidden: int
    known: int
    newly_held: bool = False  # held now and not on the last look (log it once)


@dataclass(slots=True)
class TombstoneValve:
    max_share: float = DEFAULT_MAX_SHARE
    accepted: frozenset[str] = frozenset()  # hour names an operator accepted
    _replicated: collections.OrderedDict[Key, int] = field(default_factory=collections.OrderedDict)
    _held: collections.OrderedDict[Key, None] = field(default_factory=collections.OrderedDict)

    def check(
        self,
        key: Key,
        new: Collection[str],
        local_segments: Iterable[str],
        remote_segments: Iterable[str],
    ) -> Verdict:
        """May tombstones hiding the stems ``new`` be written into the hour ``key``?

        ``local_segments`` and ``remote_segments`` are the stems of the files listed here and
        by the peers, visible or hidden (a tombstone counts as the file it hides).
        """
        known = set(local_segments)
        known.update(remote_segments)
        known.update(new)
        hidden = self._replicated.get(key, 0) + len(new)
        share = hidden / len(known) if known else 0.0
        allowed = not new or share <= self.max_share or key[2] in self.accepted
        if allowed:
            self._held.pop(key, None)
            return Verdict(True, share, hidden, len(known))
        newly = key not in self._held
        self._remember(self._held, key, None)
        return Verdict(False, share, hidden, len(known), newly)

    def written(self, key: Key, count: int) -> None:
        if count:
            self._remember(self._replicated, key, self._replicated.get(key, 0) + count)

    def held(self, channel: str, quality: str) -> int:
        """Hours of a stream held back now."""
        return sum(1 for c, q, _ in self._held if (c, q) == (channel, quality))

    @staticmethod
    def _remember(table: collections.OrderedDict[Key, int] | collections.OrderedDict[Key, None],
                  key: Key, value: object) -> None:  # fmt: skip
        table[key] = value  # type: ignore[assignment]
        table.move_to_end(key)
        while len(table) > MAX_HOURS:
            table.popitem(last=False)
