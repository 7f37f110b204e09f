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
from dataclasses import dataclass
from typing import Any

from ..store.disk import HourListing, list_hour

SETTLE_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class _Entry:
    mtime_ns: int
    settled: bool
    listing: HourListing


class HourListingCache:
    """Parsed hour listings keyed by directory, invalidated when the directory changes.

    Thread-safe: playlists are computed in worker threads.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, directory: str, channel: str, quality: str, hour: str) -> HourListing:
        try:
            mtime_ns = os.stat(directory).st_mtime_ns
        except OSError:
            return HourListing()
        with self._lock:
            entry = self._entries.get(directory)
            if entry is not None and entry.settled and entry.mtime_ns == mtime_ns:
                self.hits += 1
                return entry.listing
            self.misses += 1
        listed_at = time.time_ns()
        listing = list_hour(directory, channel, quality, hour)
        settled = listed_at - mtime_ns > SETTLE_NS
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[directory] = _Entry(mtime_ns, settled, listing)
        return listing


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
