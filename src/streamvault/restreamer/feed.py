"""The change feed: ``GET /changes/CHANNEL/QUALITY?cursor=N&timeout=S`` (SPEC §8 ★).

A long-poll with a resumable cursor that announces new segment and tombstone names, so a
backfilling peer learns of a new segment within a second instead of on its next pass.

Segments are written by other processes (the downloader, a backfiller), so the feed watches
the disk: a background task looks at the newest hour directories of every channel and quality
a few times a second, and lists a directory again when its mtime changed (or is so recent that
a coarse mtime could hide a second change). Names that were not there before become events.

Answer: ``{"cursor": N, "instance": ID, "reset": false, "changes": [{"hour", "name"}, ...]}``.
Without ``cursor`` the answer is immediate and carries the current cursor. ``reset: true``
means the changes since the given cursor are unknown (this server restarted — ``instance``
changes too — or the cursor is older than what is kept): check the recent hours in full.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..clock import Clock, SystemClock
from ..errors import BadInput
from ..http_errors import text_error_doc
from ..store.disk import SegmentStore
from ..store.naming import check_path_part
from ..store.safeopen import is_real_dir
from ..store.settle import settled

log = logging.getLogger(__name__)

SCAN_INTERVAL = 0.25
RECENT_HOURS = 2  # hour directories watched per channel and quality (the newest ones)
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 60.0
MAX_EVENTS = 2000  # per answer
KEEP = 20000  # events kept per channel and quality

Key = tuple[str, str]


@dataclass(slots=True)
class ChangeLog:
    """The numbered events, per channel and quality. Pure bookkeeping: no I/O, no asyncio."""

    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    keep: int = KEEP
    head: int = 0
    _events: dict[Key, collections.deque[tuple[int, str, str]]] = field(default_factory=dict)
    _dropped: dict[Key, int] = field(default_factory=dict)  # newest seq no longer kept

    def add(self, channel: str, quality: str, hour: str, names: list[str]) -> None:
        events = self._events.setdefault((channel, quality), collections.deque())
        for name in names:
            self.head += 1
            events.append((self.head, hour, name))
        while len(events) > self.keep:
            self._dropped[(channel, quality)] = events.popleft()[0]

    def since(
        self, channel: str, quality: str, cursor: int, limit: int = MAX_EVENTS
    ) -> tuple[list[tuple[int, str, str]], int, bool]:
        """(events after ``cursor``, the next cursor, reset)."""
        key = (channel, quality)
        if cursor > self.head or cursor < self._dropped.get(key, 0):
            return [], self.head, True
        events = [e for e in self._events.get(key, ()) if e[0] > cursor][:limit]
        next_cursor = events[-1][0] if len(events) == limit else self.head
        return events, next_cursor, False


@dataclass(slots=True)
class _Seen:
    mtime_ns: int
    names: frozenset[str]


class ChangeFeed:
    """Watches a store's recent hour directories and wakes the long-polls."""

    def __init__(
        self, store: SegmentStore, interval: float = SCAN_INTERVAL, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.interval = interval
        self.clock = clock or SystemClock()
        self.log = ChangeLog()
        self._seen: dict[tuple[str, str, str], _Seen] = {}
        #: one event per stream the store holds that someone waits on (bounded by the store);
        #: waits on any other name share ``_news``, set on every scan that found something
        self._wakeups: dict[Key, asyncio.Event] = {}
        self._news = asyncio.Event()
        self._scanned_once = False

    def _scan(self) -> list[tuple[str, str, str, list[str]]]:
        """List what changed on disk (runs in a thread); the first scan is only a baseline."""
        found: list[tuple[str, str, str, list[str]]] = []
        keep: set[tuple[str, str, str]] = set()
        # the file system's time, not the clock's: it is compared with directory mtimes
        now_ns = time.time_ns()
        for key in self._recent_hours():
            keep.add(key)
            new = self._scan_hour(key, now_ns)
            if new:
                found.append((*key, new))
        for key in set(self._seen) - keep:
            del self._seen[key]
        announce = self._scanned_once
        self._scanned_once = True
        return found if announce else []

    def _recent_hours(self) -> list[tuple[str, str, str]]:
        """(channel, quality, hour) of the newest hour directories; odd names are skipped."""
        keys: list[tuple[str, str, str]] = []
        for channel in self.store.channels():
            try:
                for quality in self.store.qualities(channel):
                    for hour in self.store.hours(channel, quality)[-RECENT_HOURS:]:
                        keys.append((channel, quality, hour))
            except ValueError:  # a directory name the store refuses (UnsafePath)
                continue
        return keys

    def _scan_hour(self, key: tuple[str, str, str], now_ns: int) -> list[str]:
        directory = self.store.hour_dir(*key)
        try:
            mtime_ns = os.stat(directory).st_mtime_ns
        except OSError:
            return []
        seen = self._seen.get(key)
        if seen is not None and seen.mtime_ns == mtime_ns and settled(mtime_ns, now_ns):
            return []
        names = frozenset(self.store.segment_names(*key, tombstones=True))
        self._seen[key] = _Seen(mtime_ns, names)
        if seen is None:
            return sorted(names)
        return sorted(names - seen.names)

    async def scan(self) -> int:
        """One scan; returns the number of new events."""
        found = await asyncio.to_thread(self._scan)
        count = 0
        for channel, quality, hour, names in found:
            self.log.add(channel, quality, hour, names)
            count += len(names)
            event = self._wakeups.pop((channel, quality), None)
            if event is not None:
                event.set()
        if count:
            self._news.set()
            self._news = asyncio.Event()
        return count

    async def run(self) -> None:
        failing = ""  # the last failure, logged once with its traceback until a scan succeeds
        while True:
            try:
                await self.scan()
            except Exception as err:
                if repr(err) != failing:
                    log.exception("change feed scan failed (logged again only if it changes)")
                    failing = repr(err)
            else:
                if failing:
                    log.info("change feed scans again")
                    failing = ""
            await self.clock.sleep(self.interval)

    async def wait(
        self, channel: str, quality: str, cursor: int, timeout: float, held: bool
    ) -> None:
        """Wait for news of a stream after ``cursor`` (``held``: one the store holds) for at
        most ``timeout``; at once if a scan found some since the caller last looked."""
        event = (
            self._wakeups.setdefault((channel, quality), asyncio.Event()) if held else self._news
        )
        if self.answer(channel, quality, cursor) is None:  # the event is ours: no news missed
            await self.clock.wait(event, timeout)

    def answer(self, channel: str, quality: str, cursor: int | None) -> dict[str, Any] | None:
        """The JSON answer, or None when the caller should wait for news."""
        if cursor is None:
            return self._json(self.log.head, False, [])
        events, next_cursor, reset = self.log.since(channel, quality, cursor)
        if events or reset:
            return self._json(next_cursor, reset, events)
        return None

    def _json(self, cursor: int, reset: bool, events: list[tuple[int, str, str]]) -> dict[str, Any]:
        return {
            "cursor": cursor,
            "instance": self.log.instance,
            "reset": reset,
            "changes": [{"hour": hour, "name": name} for _, hour, name in events],
        }


FEED: web.AppKey[ChangeFeed] = web.AppKey("streamvault_change_feed", ChangeFeed)


def _number(request: web.Request, name: str, default: float | None) -> float | None:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = float(text) if name == "timeout" else int(text)
    except ValueError:
        raise BadInput(f"{name} must be a number: {text!r}") from None
    if value < 0 or value != value:
        raise BadInput(f"{name} may not be negative: {text!r}")
    return value


async def handle_changes(request: web.Request) -> web.Response:
    channel, quality = request.match_info["channel"], request.match_info["quality"]
    check_path_part(channel, "channel")
    check_path_part(quality, "quality")
    cursor = _number(request, "cursor", None)
    timeout = _number(request, "timeout", DEFAULT_TIMEOUT) or 0.0
    if timeout > MAX_TIMEOUT:  # exactly what the OpenAPI description says
        raise BadInput(f"timeout may be at most {MAX_TIMEOUT:g} s")
    feed = request.app[FEED]
    body = feed.answer(channel, quality, None if cursor is None else int(cursor))
    if body is None and timeout > 0:
        # A stream the store does not hold yet is answered too: its feed is how a peer hears
        # that it begins (a 404 would tell a backfiller "no change feed here"). Nothing is
        # kept per such name, so what clients ask about cannot grow the server's state.
        held = await asyncio.to_thread(is_real_dir, feed.store.base_dir, (channel, quality))
        await feed.wait(channel, quality, int(cursor or 0), timeout, held)
        body = feed.answer(channel, quality, int(cursor or 0))
    if body is None:
        body = feed._json(feed.log.head, False, [])
    return web.json_response(body, headers={"Cache-Control": "no-store"})


OPENAPI: dict[str, Any] = {
    "get": {
        "summary": "Change feed: new segment and tombstone names (long-poll)",
        "parameters": [
            {"name": "channel", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "quality", "in": "path", "required": True, "schema": {"type": "string"}},
            {
                "name": "cursor",
                "in": "query",
                "schema": {"type": "integer", "minimum": 0},
                "description": "the cursor of the previous answer; omit to get the current one",
            },
            {
                "name": "timeout",
                "in": "query",
                "schema": {"type": "number", "minimum": 0, "maximum": MAX_TIMEOUT},
                "description": "seconds to wait for a change (default 30)",
            },
        ],
        "responses": {
            "200": {
                "description": "changes after the cursor, and the next cursor",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["cursor", "instance", "reset", "changes"],
                            "properties": {
                                "cursor": {"type": "integer"},
                                "instance": {"type": "string"},
                                "reset": {"type": "boolean"},
                                "changes": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "hour": {"type": "string"},
                                            "name": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        }
                    }
                },
            },
            "400": text_error_doc("cursor or timeout does not parse"),
            "403": text_error_doc("a path part starts with '.'"),
        },
    }
}


def setup(
    app: web.Application,
    store: SegmentStore,
    interval: float = SCAN_INTERVAL,
    clock: Clock | None = None,
) -> None:
    """Add the change feed route and its watcher task to a restreamer application; its scans
    and long-polls keep ``clock``'s time."""
    feed = ChangeFeed(store, interval, clock)
    app[FEED] = feed
    app.router.add_get("/changes/{channel}/{quality}", handle_changes)

    async def watcher(app: web.Application) -> AsyncIterator[None]:
        await feed.scan()  # the baseline: what exists now is not news
        task = asyncio.create_task(feed.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(watcher)
    _add_openapi(app)


def _add_openapi(app: web.Application) -> None:
    from .state import OPENAPI_PATHS

    paths = app.get(OPENAPI_PATHS)
    if isinstance(paths, dict):
        paths["/changes/{channel}/{quality}"] = OPENAPI
