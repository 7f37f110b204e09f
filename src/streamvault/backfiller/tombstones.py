"""Writing the tombstones peers announce, through the safety valve of :mod:`.valve`."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence

from ..logs import stream_logger
from ..store.disk import SegmentStore
from ..store.naming import Segment, file_stem
from .arbiter import is_prefix
from .consensus import superseded
from .plan import Replica, stem_of
from .progress import TOMBSTONES_HELD, Progress
from .valve import Key, TombstoneValve

log = logging.getLogger(__name__)


class TombstoneWriter:
    def __init__(self, store: SegmentStore, progress: Progress, valve: TombstoneValve) -> None:
        self.store = store
        self.progress = progress
        self.valve = valve

    def write(
        self,
        key: Key,
        tombstones: Sequence[Replica],
        local_names: Iterable[str],
        remote_names: Iterable[str],
    ) -> set[str]:
        """Hide ``tombstones`` (files of the hour ``key``) here unless the valve holds them
        back; returns the names of the files hidden. ``local_names`` and ``remote_names`` are
        listings of the hour (with tombstones) here and on the peers."""
        channel, quality, hour = key
        local_names = list(local_names)
        # losers of hash consensus on a peer, replaced here by a version that holds all their
        # bytes: hiding them loses nothing, so the valve does not count them (SPEC §15)
        replaced = self._replaced([t for t in tombstones if isinstance(t, Segment)], local_names)
        new = {file_stem(item.name) for item in tombstones if item.name not in replaced}
        verdict = self.valve.check(
            key, new, (stem_of(n) for n in local_names), (stem_of(n) for n in remote_names)
        )
        TOMBSTONES_HELD.labels(channel, quality).set(self.valve.held(channel, quality))
        slog = stream_logger(log, channel, quality)
        if not verdict.allowed:
            if verdict.newly_held:
                slog.error(
                    "holding back %d tombstones from peers for hour %s: they would hide %d of "
                    "%d segments (%.0f %%, more than %.0f %%); accept them with "
                    "'streamvault backfill --accept-tombstones %s' or accept_tombstones",
                    len(new), hour, verdict.hidden, verdict.known, 100 * verdict.share,
                    100 * self.valve.max_share, hour,
                )  # fmt: skip
            return set()
        written: set[str] = set()
        for segment in tombstones:
            if segment.name in written:
                continue
            self.store.write_tombstone(segment)
            self.progress.tombstone(segment)
            written.add(segment.name)
            slog.info("tombstone replicated: %s", segment.name)
        self.valve.written(key, len(written - replaced))
        return written

    def _replaced(self, tombstoned: Sequence[Segment], local_names: list[str]) -> set[str]:
        replaced = set()
        for name, other in superseded(tombstoned, local_names).items():
            segment = next(s for s in tombstoned if s.name == name)
            path, other_path = self.store.segment_path(segment), self.store.segment_path(other)
            try:
                if not os.path.exists(path) or is_prefix(path, other_path):
                    replaced.add(name)
            except OSError:
                continue
        return replaced
