"""Caches of the restreamer: parsed hour listings, and shared in-flight computations.

An hour listing is reused while its directory's modification time is unchanged; a listing
taken less than :data:`~streamvault.store.settle.SETTLE_NS` after the directory last changed
is not trusted next time (:mod:`streamvault.store.settle` says why).
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ..store.disk import HourListing, list_hour
from ..store.settle import settled
from .render import entry_from_name

#: What a directory looked like: its mtime, or None when it changed too recently to trust.
Version = int | None


@dataclass(slots=True)
class CachedHour:
    """A parsed hour listing and, once asked for, its playlist entries."""

    listing: HourListing
    mtime_ns: int
    settled: bool
    _entries: dict[int, str] | None = field(default=None, repr=False)

    @property
    def version(self) -> Version:
        return self.mtime_ns if self.settled else None

    def entries(self, base_uri: str, hour: str) -> dict[int, str]:
        """Playlist entry per segment (keyed by ``id``: the listing keeps the objects alive)."""
        if self._entries is None:
            listing = self.listing
            self._entries = {
                id(segment): entry_from_name(base_uri, hour, name)
                for segment, name in zip(listing.segments, listing.visible, strict=True)
            }
        return self._entries


EMPTY_HOUR = CachedHour(HourListing(), 0, False)


def directory_version(path: str) -> Version:
    """A directory's mtime, or None if it is missing or changed too recently to trust."""
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return mtime_ns if settled(mtime_ns, time.time_ns()) else None


class HourListingCache:
    """Parsed hour listings keyed by directory, invalidated when the directory changes.

    Thread-safe: playlists are computed in worker threads.
    """

    def __init__(self, max_entries: int = 10_000, max_names: int = 500_000) -> None:
        self._entries: collections.OrderedDict[str, CachedHour] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        #: names held by every listing together (about 1 kB each with their segment and
        #: playlist entry): the least recently used hours go first past it
        self.max_names = max_names
        self.names = 0
        self.hits = 0
        self.misses = 0

    def get(self, directory: str, channel: str, quality: str, hour: str) -> HourListing:
        return self.get_cached(directory, channel, quality, hour).listing

    def get_cached(
        self, directory: str, channel: str, quality: str, hour: str, fd: int | None = None
    ) -> CachedHour:
        """The listing of ``directory`` (read through the open descriptor ``fd`` if given)."""
        try:
            mtime_ns = (os.stat(directory) if fd is None else os.fstat(fd)).st_mtime_ns
        except OSError:
            return EMPTY_HOUR
        with self._lock:
            entry = self._entries.get(directory)
            if entry is not None and entry.settled and entry.mtime_ns == mtime_ns:
                self.hits += 1
                self._entries.move_to_end(directory)
                return entry
            self.misses += 1
        listed_at = time.time_ns()
        listing = list_hour(directory if fd is None else fd, channel, quality, hour, directory)
        entry = CachedHour(listing, mtime_ns, settled(mtime_ns, listed_at))
        size = len(listing.visible) + len(listing.tombstones)
        with self._lock:
            old = self._entries.pop(directory, None)
            if old is not None:
                self.names -= len(old.listing.visible) + len(old.listing.tombstones)
            while self._entries and (
                len(self._entries) >= self.max_entries or self.names + size > self.max_names
            ):
                evicted = self._entries.popitem(last=False)[1].listing
                self.names -= len(evicted.visible) + len(evicted.tombstones)
            self._entries[directory] = entry
            self.names += size
        return entry


#: Bytes of finished playlists kept (a closed 24 h playlist of 2 s segments is some 6 MB).
RESULT_CACHE_BYTES = 64 * 1024 * 1024


class ResultCache:
    """Results (bytes) keyed by request, valid while the versions of the directories they came
    from are unchanged. A result from a directory that changed too recently is not kept.

    Bounded in bytes: the least recently used results go first, and a result larger than the
    whole bound is not kept at all.
    """

    def __init__(self, max_bytes: int = RESULT_CACHE_BYTES) -> None:
        self._results: collections.OrderedDict[Hashable, tuple[tuple[Version, ...], bytes]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()
        self.max_bytes = max_bytes
        self.bytes = 0

    def get(self, key: Hashable, versions: tuple[Version, ...]) -> bytes | None:
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
        if found is None or found[0] != versions or None in versions:
            return None
        return found[1]

    def put(self, key: Hashable, versions: tuple[Version, ...], value: bytes) -> None:
        if None in versions or len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._results.pop(key, None)
            if old is not None:
                self.bytes -= len(old[1])
            while self._results and self.bytes + len(value) > self.max_bytes:
                self.bytes -= len(self._results.popitem(last=False)[1][1])
            self._results[key] = (versions, value)
            self.bytes += len(value)

    def __len__(self) -> int:
        return len(self._results)


class InFlight:
    """Identical concurrent requests share one computation.

    ``run(key, factory)`` starts ``factory()`` once per key while it runs; everyone asking for
    the same key meanwhile awaits the same result. A caller that goes away does not cancel the
    computation for the others.
    """

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[Any]] = {}
        self.started = 0

    async def run(self, key: Hashable, factory: Callable[[], Awaitable[Any]]) -> Any:
        task = self._tasks.get(key)
        if task is None:
            self.started += 1
            task = asyncio.ensure_future(factory())
            self._tasks[key] = task
            task.add_done_callback(lambda _t: self._forget(key, task))
        return await asyncio.shield(task)

    def _forget(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: a waiter that left must not cause a warning
