"""One getter per segment: download it into the store, whatever the network does (SPEC §6.6).

The first attempt uses the worker's keep-alive pool. A soft timeout (5 s to the headers, 15 s
to the whole body) starts a second attempt on a fresh connection beside the slow one, and the
first to finish well wins. Hard timeouts (60 s / 240 s) abandon an attempt. A body cut short is
kept as ``partial``; a download that took 59 s or more, or an empty body, is ``suspect``; a
403/404 means the URL expired: no file. A segment never has more than two attempts in flight
(the slow one and one more); failed rounds are retried on fresh connections with growing
back-off until 20 minutes after the segment was first seen, and never once the downloader is
stopping. A body past the segment byte cap is refused and the segment given up. A getter gets
everything it needs as values (:class:`GetterContext`); it knows nothing of its worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from ..backoff import Backoff
from ..clock import Clock
from ..errors import DiskFull, HTTPStatusError, TooLarge
from ..sources.http import (
    IDENTITY,
    REQUEST_ERRORS,
    REQUEST_SECONDS,
    BoundedBody,
    error_reason,
    new_session,
)
from ..store.disk import SegmentStore, TempFile
from . import metrics
from .initmap import InitSections
from .settings import Settings
from .tracker import Fetch

log = logging.getLogger(__name__)

#: A failed round's retry waits this share of its back-off (retry_min doubling to retry_max).
RETRY_JITTER = (0.8, 1.2)

Outcome = Literal["full", "suspect", "gone", "failed", "refused"]


@dataclass(frozen=True, slots=True)
class GetterContext:
    """What every getter of one worker shares, as values (no reference up to the worker)."""

    channel: str
    quality: str
    store: SegmentStore
    clock: Clock
    settings: Settings
    session: aiohttp.ClientSession  # the worker's keep-alive pool, for first attempts
    ssl_context: ssl.SSLContext | None
    init_sections: InitSections
    stopping: asyncio.Event  # set: the downloader is stopping, retry no more
    log: logging.LoggerAdapter[Any]

    @contextlib.asynccontextmanager
    async def fresh_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        session = new_session(self.ssl_context, fresh=True)
        try:
            yield session
        finally:
            await session.close()


@dataclass(slots=True, eq=False)
class Attempt:
    fresh: bool
    started: float
    headers_at: float | None = None
    temp: TempFile | None = None
    task: asyncio.Task[Outcome] | None = None
    outcome: Outcome | None = None


def round_deadline(attempt: Attempt, hard_headers: float, hard_body: float) -> float:
    return attempt.started + (hard_headers if attempt.headers_at is None else hard_body)


class SegmentGetter:
    def __init__(self, context: GetterContext, fetch: Fetch, first_seen: float) -> None:
        self.context = context
        self.fetch = fetch
        self.first_seen = first_seen
        self.log = context.log
        self._committed_hashes: set[str] = set()

    @property
    def name(self) -> str:
        return f"segment {self.fetch.segment.sequence} ({self.fetch.start:%H:%M:%S.%f})"

    async def run(self) -> str:
        """Download until done; returns full, suspect, gone, refused, gave_up or abandoned."""
        context = self.context
        settings, clock = context.settings, context.clock
        rounds = 0
        while True:
            outcome = await self._round(fresh=rounds > 0)
            if outcome in ("full", "suspect"):
                return outcome
            if outcome == "gone":
                self.log.error("%s: URL gone (403/404), giving up without a file", self.name)
                metrics.GAVE_UP.labels(context.channel, context.quality, "gone").inc()
                return "gone"
            if outcome == "refused":
                metrics.GAVE_UP.labels(context.channel, context.quality, "too_large").inc()
                return "refused"
            rounds += 1
            backoff = Backoff(settings.retry_min, settings.retry_max, jitter=RETRY_JITTER)
            delay = backoff.delay(rounds)
            if clock.monotonic() + delay - self.first_seen >= settings.give_up_after:
                self.log.error(
                    "%s: still failing %.0f s after it was first seen, giving up",
                    self.name,
                    clock.monotonic() - self.first_seen,
                )
                metrics.GAVE_UP.labels(context.channel, context.quality, "timeout").inc()
                return "gave_up"
            self.log.debug("%s: retrying in %.1f s on a fresh connection", self.name, delay)
            if await clock.wait(context.stopping, delay):
                self.log.warning("%s: stopping, not retrying", self.name)
                return "abandoned"

    async def _round(self, fresh: bool) -> Outcome:
        """At most two attempts: the first, and one more beside it once it is slow."""
        settings, clock = self.context.settings, self.context.clock
        attempts = [self._start(fresh)]
        try:
            while True:
                now = clock.monotonic()
                for attempt in attempts:
                    hard = round_deadline(attempt, settings.headers_hard, settings.body_hard)
                    if attempt.task is not None and not attempt.task.done() and now >= hard:
                        self.log.warning("%s: hard timeout, abandoning an attempt", self.name)
                        REQUEST_ERRORS.labels("segment", "timeout").inc()
                        attempt.task.cancel()
                first = attempts[0]
                soft = settings.headers_soft if first.headers_at is None else settings.body_soft
                if len(attempts) == 1 and not _done(first) and now >= first.started + soft:
                    self.log.info("%s: slow, starting a parallel attempt", self.name)
                    attempts.append(self._start(fresh=True))
                running = {a.task for a in attempts if a.task is not None and not a.task.done()}
                deadlines = [
                    round_deadline(a, settings.headers_hard, settings.body_hard)
                    for a in attempts
                    if not _done(a)
                ]
                if len(attempts) == 1:
                    deadlines.append(first.started + soft)
                if running:
                    await clock.wait_any(running, max(0.0, min(deadlines) - now) + 0.001)
                outcome = await self._settle(attempts)
                if outcome is not None:
                    return outcome
        finally:
            for attempt in attempts:
                if attempt.task is not None and not attempt.task.done():
                    attempt.task.cancel()
                    with contextlib.suppress(BaseException):
                        await attempt.task
                if attempt.temp is not None:
                    attempt.temp.discard()

    async def _settle(self, attempts: list[Attempt]) -> Outcome | None:
        """Decide once attempts have finished: a winner, a loser's best bytes, or keep waiting."""
        for attempt in attempts:
            if attempt.task is not None and attempt.task.done() and attempt.outcome is None:
                attempt.outcome = "failed" if attempt.task.cancelled() else attempt.task.result()
        for final in ("gone", "refused"):
            if any(a.outcome == final for a in attempts):
                return final
        full = [a for a in attempts if a.outcome == "full"]
        if full:
            await self._commit(full[0], "suspect" if self.fetch.suspect else "full")
            return "full"
        if any(a.outcome is None for a in attempts):
            return None
        suspect = [a for a in attempts if a.outcome == "suspect"]
        if suspect:
            await self._commit(max(suspect, key=_size), "suspect")
            return "suspect"
        partial = [
            a for a in attempts if a.temp is not None and a.temp.size > 0 and not a.temp.discarded
        ]
        if partial:
            await self._commit(max(partial, key=_size), "partial")
        return "failed"

    async def _commit(self, attempt: Attempt, kind: str) -> None:
        temp = attempt.temp
        assert temp is not None
        attempt.temp = None
        if kind == "partial" and temp.hash in self._committed_hashes:
            temp.discard()
            return
        self._committed_hashes.add(temp.hash)
        context, fetch = self.context, self.fetch
        duration = fetch.segment.duration
        segment = await asyncio.to_thread(
            context.store.commit_segment,
            temp,
            context.channel,
            context.quality,
            fetch.start,
            duration,
            kind,
        )
        metrics.SEGMENTS.labels(context.channel, context.quality, kind).inc()
        metrics.SECONDS.labels(context.channel, context.quality, kind).inc(duration)
        metrics.LATEST.update(context.channel, context.quality, fetch.start)
        level = logging.DEBUG if kind == "full" else logging.WARNING
        self.log.log(level, "%s: saved as %s (%d bytes)", self.name, kind, segment.size or 0)

    def _start(self, fresh: bool) -> Attempt:
        attempt = Attempt(fresh, self.context.clock.monotonic())
        attempt.task = asyncio.create_task(self._attempt(attempt))
        return attempt

    async def _attempt(self, attempt: Attempt) -> Outcome:
        if not attempt.fresh:
            return await self._download(attempt, self.context.session)
        async with self.context.fresh_session() as session:
            return await self._download(attempt, session)

    async def _download(self, attempt: Attempt, session: aiohttp.ClientSession) -> Outcome:
        context, fetch, clock = self.context, self.fetch, self.context.clock
        began = time.perf_counter()  # for the duration metric: real seconds, whatever the clock
        try:
            init = await context.init_sections.get(fetch.segment.map_uri, session)
            async with session.get(fetch.segment.uri, headers=IDENTITY) as response:
                attempt.headers_at = clock.monotonic()
                if response.status in (403, 404):
                    REQUEST_ERRORS.labels("segment", str(response.status)).inc()
                    return "gone"
                if response.status != 200:
                    raise HTTPStatusError(response.status, fetch.segment.uri.split("?")[0])
                attempt.temp = temp = context.store.open_segment(
                    context.channel, context.quality, fetch.start, fetch.segment.duration
                )
                if init:
                    temp.write(init)
                body = BoundedBody(
                    response.headers.get("Content-Encoding", ""),
                    context.settings.max_segment_bytes,
                    self.name,
                )
                await _copy_body(response, temp, body)
        except TooLarge as err:
            REQUEST_ERRORS.labels("segment", "too_large").inc()
            self.log.error("%s: %s; not stored", self.name, err)
            if attempt.temp is not None:
                attempt.temp.discard()
            return "refused"
        except DiskFull as err:
            # Our disk, not the network: what is stored stays whole, this segment waits for room.
            self.log.error("%s: not saved, %s (will retry)", self.name, err)
            return "failed"
        except (aiohttp.ClientError, OSError, TimeoutError, HTTPStatusError) as err:
            REQUEST_ERRORS.labels("segment", error_reason(err)).inc()
            self.log.warning("%s: download failed: %s", self.name, err or type(err).__name__)
            return "failed"
        REQUEST_SECONDS.labels("segment").observe(time.perf_counter() - began)
        elapsed = clock.monotonic() - attempt.started
        if temp.size == len(init):
            self.log.warning("%s: empty body", self.name)
            return "suspect"
        if elapsed >= context.settings.suspect_after:
            self.log.warning("%s: took %.1f s, suspect", self.name, elapsed)
            return "suspect"
        return "full"


#: Bytes gathered before each write: fewer system calls per segment.
WRITE_BATCH = 1 << 20


async def _copy_body(response: aiohttp.ClientResponse, temp: TempFile, body: BoundedBody) -> None:
    """Write the body as it arrives; whatever arrived before a failure is written too (but
    nothing past the byte cap: ``body`` raises ``TooLarge`` first).

    Chunks are gathered as they are and written with one ``writev``: joining them into one
    buffer first cost more CPU than all the system calls of a segment together.
    """
    pending: list[bytes] = []
    size = 0
    try:
        # iter_chunks hands over the received buffers one by one; iter_any would join them.
        async for raw, _ in response.content.iter_chunks():
            chunk = body.feed(raw)
            pending.append(chunk)
            size += len(chunk)
            if size >= WRITE_BATCH:
                temp.write_chunks(pending)
                pending.clear()
                size = 0
    finally:
        if pending and not temp.discarded:
            temp.write_chunks(pending)


def _done(attempt: Attempt) -> bool:
    return attempt.task is None or attempt.task.done()


def _size(attempt: Attempt) -> int:
    return attempt.temp.size if attempt.temp is not None else 0
