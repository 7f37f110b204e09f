"""Caches of the restreamer: parsed hour listings, and shared in-flight computations.

An hour listing is reused while its directory's modification time is unchanged. Because file
systems stamp directories with a coarse clock (a few milliseconds, a second on some), a listing
taken less than :data:`SETTLE_NS` after the directory last changed is not trusted next time:
a file added in the same clock tick would otherwise stay invisible ("racy git" problem).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ..store.disk import HourListing, list_hour
from .render import entry_from_name

SETTLE_NS = 1_000_000_000

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
    return mtime_ns if time.time_ns() - mtime_ns > SETTLE_NS else None


class HourListingCache:
    """Parsed hour listings keyed by directory, invalidated when the directory changes.

    Thread-safe: playlists are computed in worker threads.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, CachedHour] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
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
                return entry
            self.misses += 1
        listed_at = time.time_ns()
        listing = list_hour(directory if fd is None else fd, channel, quality, hour, directory)
        entry = CachedHour(listing, mtime_ns, listed_at - mtime_ns > SETTLE_NS)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[directory] = entry
        return entry


class ResultCache:
    """Results keyed by request, valid while the versions of the directories they came from
    are unchanged. A result from a directory that changed too recently is not kept."""

    def __init__(self, max_entries: int = 256) -> None:
        self._results: dict[Hashable, tuple[tuple[Version, ...], Any]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: Hashable, versions: tuple[Version, ...]) -> Any | None:
        with self._lock:
            found = self._results.get(key)
        if found is None or found[0] != versions or None in versions:
            return None
        return found[1]

    def put(self, key: Hashable, versions: tuple[Version, ...], value: Any) -> None:
        if None in versions:
            return
        with self._lock:
            if len(self._results) >= self.max_entries:
                self._results.pop(next(iter(self._results)))
            self._results[key] = (versions, value)


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
