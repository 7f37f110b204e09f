"""The incremental coverage scanner: the I/O shell that lists hour directories.

A pass lists only the hour directories whose modification time changed since the last pass
(or that are new, or whose time was too recent to trust), and recomputes those hours plus the
neighbours whose figures depend on what changed: the next hour when this hour's data running
into it (:func:`spill_over`) or its having data changed, the previous hour when this hour's
having data changed. Everything else keeps its cached :class:`HourCoverage`.

Per hour only small facts are kept between passes (mtime, has-data, the few segments running
into the next hour, the computed figures), never the whole listing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from ..errors import BadTime
from ..store.disk import UNREADABLE, HourListing, SegmentStore
from ..store.naming import Segment
from ..store.settle import settled
from ..timeutil import hour_name, parse_hour
from .compute import HourCoverage, hour_coverage, spill_over

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Hour:
    mtime_ns: int
    settled: bool
    has_data: bool
    tail: tuple[Segment, ...]
    coverage: HourCoverage | None = None


@dataclass(slots=True)
class _Variant:
    hours: dict[str, _Hour] = field(default_factory=dict)
    listed: int = 0  # hour directories listed, ever


@dataclass(frozen=True, slots=True)
class VariantPass:
    """What one pass did for one channel and quality."""

    channel: str
    quality: str
    listed: tuple[str, ...]  # hour directories listed this pass
    computed: tuple[str, ...]  # hours whose figures were recomputed
    removed: tuple[str, ...]  # hours that disappeared

    @property
    def changed(self) -> bool:
        return bool(self.computed or self.removed)


class CoverageScanner:
    """Keeps per-hour coverage of channels and qualities up to date, one pass at a time.

    ``channels`` / ``qualities`` of ``None`` mean whatever the store holds. Thread-safe for
    readers: :meth:`results` may run (e.g. from a metrics thread) while a pass runs.
    """

    def __init__(
        self,
        store: SegmentStore,
        channels: Sequence[str] | None = None,
        qualities: Sequence[str] | None = None,
        fs_now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.store = store
        self.channels = list(channels) if channels else None
        self.qualities = list(qualities) if qualities else None
        self._fs_now_ns = fs_now_ns
        self._variants: dict[tuple[str, str], _Variant] = {}
        self._lock = threading.Lock()

    def variants(self) -> list[tuple[str, str]]:
        """The (channel, quality) pairs to measure now."""
        channels = self.channels if self.channels is not None else self.store.channels()
        pairs: list[tuple[str, str]] = []
        for channel in channels:
            qualities = self.qualities or self.store.qualities(channel)
            pairs.extend((channel, quality) for quality in qualities)
        return pairs

    def scan(self) -> list[VariantPass]:
        """One pass over every variant."""
        return [self.scan_variant(channel, quality) for channel, quality in self.variants()]

    def scan_variant(self, channel: str, quality: str) -> VariantPass:
        variant = self._variants.setdefault((channel, quality), _Variant())
        found = self._hour_mtimes(channel, quality)
        removed = sorted(set(variant.hours) - set(found))
        remaining = _stale(variant.hours, found)
        listed: list[str] = []
        pending: dict[str, HourListing] = {}  # listed, not yet computed: kept to a few hours
        dirty: set[str] = set()
        computed: set[str] = set()
        hours = dict(variant.hours)
        for hour in removed:
            if hours.pop(hour).has_data:
                dirty.update(_neighbours(hour))
        now_ns = self._fs_now_ns()
        for hour in sorted(remaining):
            remaining.discard(hour)
            pending[hour] = listing = self.store.segments(channel, quality, hour)
            listed.append(hour)
            dirty.update(self._update(hours, hour, found[hour], now_ns, listing))
            # An hour is ready once neither neighbour can change any more in this pass.
            for ready in [h for h in pending if not remaining.intersection(_neighbours(h))]:
                hours[ready].coverage = self._compute(hours, ready, pending.pop(ready))
                computed.add(ready)
        for hour in sorted((dirty & set(hours)) - computed):
            if hour not in pending:
                pending[hour] = self.store.segments(channel, quality, hour)
                listed.append(hour)
            hours[hour].coverage = self._compute(hours, hour, pending.pop(hour))
            computed.add(hour)
        with self._lock:
            variant.hours = hours
            variant.listed += len(listed)
        done = VariantPass(
            channel, quality, tuple(sorted(listed)), tuple(sorted(computed)), tuple(removed)
        )
        if listed or removed:
            log.debug("coverage %s/%s: %s", channel, quality, done)
        return done

    @staticmethod
    def _update(
        hours: dict[str, _Hour], hour: str, mtime_ns: int, now_ns: int, listing: HourListing
    ) -> set[str]:
        """Record a fresh listing's facts; returns the hours whose figures may have changed."""
        new = _Hour(
            mtime_ns,
            settled(mtime_ns, now_ns),  # else listed again next pass
            bool(listing.segments),
            spill_over(listing.segments, hour),
        )
        old = hours.get(hour)
        hours[hour] = new
        if old is None or old.has_data != new.has_data:
            return {hour, *_neighbours(hour)}
        if old.tail != new.tail:
            return {hour, _next(hour)}
        return {hour}

    @staticmethod
    def _compute(hours: dict[str, _Hour], hour: str, listing: HourListing) -> HourCoverage:
        previous = hours.get(_previous(hour))
        following = hours.get(_next(hour))
        return hour_coverage(
            hour,
            listing,
            previous.tail if previous else (),
            previous_has_data=bool(previous and previous.has_data),
            next_has_data=bool(following and following.has_data),
        )

    def _hour_mtimes(self, channel: str, quality: str) -> dict[str, int]:
        directory = os.path.join(self.store.base_dir, channel, quality)
        found: dict[str, int] = {}
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return found
        except OSError as err:  # unreadable (a root-owned lost+found): skipped, said once
            UNREADABLE.warn(directory, err)
            return found
        for entry in entries:
            try:
                parse_hour(entry.name)
                if entry.is_dir(follow_symlinks=False):
                    found[entry.name] = entry.stat().st_mtime_ns
            except (BadTime, OSError):
                continue
        return found

    def results(self, channel: str, quality: str) -> list[HourCoverage]:
        """The current figures of every hour directory, oldest first."""
        with self._lock:
            variant = self._variants.get((channel, quality))
            hours = dict(variant.hours) if variant else {}
        return [hours[h].coverage for h in sorted(hours) if hours[h].coverage is not None]  # type: ignore[misc]

    def known_variants(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._variants)

    def listed(self, channel: str, quality: str) -> int:
        """How many hour directories this scanner has listed for the variant, ever."""
        with self._lock:
            variant = self._variants.get((channel, quality))
            return variant.listed if variant else 0


def _stale(known: dict[str, _Hour], found: dict[str, int]) -> set[str]:
    """Hours to list: new ones, changed ones, and those changed too recently to trust."""
    return {
        hour
        for hour, mtime in found.items()
        if (old := known.get(hour)) is None or old.mtime_ns != mtime or not old.settled
    }


def _previous(hour: str) -> str:
    return hour_name(parse_hour(hour) - timedelta(hours=1))


def _next(hour: str) -> str:
    return hour_name(parse_hour(hour) + timedelta(hours=1))


def _neighbours(hour: str) -> tuple[str, str]:
    return _previous(hour), _next(hour)
