"""One worker per (channel, quality): poll the media playlist, start a getter per new segment.

A worker shares one keep-alive pool between its playlist polls and its getters' first
attempts (TLS set-up is expensive); retries get a fresh connection. A worker reports what
happens to it (working, ended, a replacement wanted, finished) through ``report``; the
manager's rollover decides who runs. A worker's playlist that ended (``#EXT-X-ENDLIST``,
403/404), or a first poll that fails, ends the worker by itself: it stops polling and is
gone once its getters are done. Failing polls of a working worker back off (growing, with
jitter, up to the stream-down interval). Workers get values, never a reference up the chain.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import aiohttp

from ..backoff import Backoff
from ..clock import Clock
from ..errors import BadPlaylist, HTTPStatusError, TooLarge
from ..hls.models import MediaPlaylist
from ..logs import stream_logger
from ..sources.http import fetch_text, new_session
from ..sources.twitch_hls import is_ad_range, parse_twitch_media
from ..store.disk import SegmentStore
from . import metrics
from .getter import RETRY_JITTER, GetterContext, SegmentGetter
from .initmap import InitSections
from .settings import Settings
from .tracker import Fetch, PlaylistTracker, SegmentRegistry

log = logging.getLogger(__name__)

#: ``working``: first non-ad segment; ``ended``: cannot go on; ``replace``: wants a successor;
#: ``finished``: its task is over, getters done. The flag: it fetched something new so far.
WorkerEvent = Literal["working", "ended", "replace", "finished"]
Report = Callable[[int, WorkerEvent, bool], None]

PLAYLIST_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, BadPlaylist, TooLarge, ValueError)


@dataclass(frozen=True, slots=True)
class WorkerEnv:
    """What every worker of one channel shares, as values."""

    channel: str
    store: SegmentStore
    clock: Clock
    settings: Settings
    ssl_context: ssl.SSLContext | None
    stopping: asyncio.Event  # set: the whole downloader is stopping
    retry_interval: float  # the stream-down interval: the ceiling of poll back-off


class StreamWorker:
    def __init__(
        self,
        env: WorkerEnv,
        id: int,
        quality: str,
        url: str,
        registry: SegmentRegistry,
        report: Report,
    ) -> None:
        self.env = env
        self.id = id
        self.channel = env.channel
        self.quality = quality
        self.url = url
        self.registry = registry
        self.clock = env.clock
        self.settings = env.settings
        self._report = report
        self.log = stream_logger(log, self.channel, quality)
        self.tracker = PlaylistTracker(self.settings.skew_tolerance)
        self.session = new_session(env.ssl_context)
        self.getters: set[asyncio.Task[str]] = set()
        self.stopping = False
        self.replacement_requested = False
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.settings.max_getters)
        self._failures = 0
        self.fetched = 0  # segments this worker claimed (new to every worker of its quality)
        self._rejected: set[str] = set()
        self.started = self.clock.monotonic()
        self.context = GetterContext(
            self.channel,
            quality,
            env.store,
            env.clock,
            env.settings,
            self.session,
            env.ssl_context,
            InitSections(self.settings.init_cache_bytes, self.settings.max_init_bytes),
            env.stopping,
            self.log,
        )
        metrics.touch(self.channel, quality)

    @property
    def working(self) -> bool:
        return self.tracker.working

    def stop(self) -> None:
        """Stop polling; in-flight getters still finish."""
        self.stopping = True
        self._wake.set()

    def abandon(self) -> None:
        """Past the stop grace: cancel every getter (each removes its temp files)."""
        self.stop()
        for getter in list(self.getters):
            getter.cancel()

    def request_replacement(self, reason: str) -> None:
        if not self.replacement_requested:
            self.replacement_requested = True
            self.log.info("asking for a new worker: %s", reason)
        self._report(self.id, "replace", self.fetched > 0)

    def _end(self, reason: str) -> None:
        news = f"{self.fetched} new segments" if self.fetched else "nothing new"
        self.log.info("worker ends (%s): %s", news, reason)
        self.stopping = True
        self._report(self.id, "ended", self.fetched > 0)

    async def run(self) -> None:
        try:
            await self._poll_loop()
        except Exception:
            self.log.exception("worker failed unexpectedly")
            self._end("unexpected error")
        finally:
            self.stopping = True
            try:
                if self.getters:
                    await asyncio.wait(set(self.getters))
            finally:
                await self.session.close()
                self._report(self.id, "finished", self.fetched > 0)

    async def _poll_loop(self) -> None:
        while not self.stopping:
            began = self.clock.monotonic()
            if began - self.started >= self.settings.worker_rollover:
                self.request_replacement("URL is getting old")
            if not await self._poll():
                return
            elapsed = self.clock.monotonic() - began
            pause = self.settings.poll_interval
            if self._failures:  # failed polls back off from the poll interval to the retry one
                backoff = Backoff(pause, self.env.retry_interval, jitter=RETRY_JITTER)
                pause = backoff.delay(self._failures)
            if not self.stopping:
                await self.clock.wait(self._wake, pause - elapsed)

    async def _poll(self) -> bool:
        """One playlist poll; False when this worker has ended."""
        try:
            text = await fetch_text(
                self.session,
                self.clock,
                self.url,
                "playlist",
                self.settings.playlist_timeout,
                max_bytes=self.settings.max_playlist_bytes,
            )
            playlist = parse_twitch_media(text, self.url, self.settings.max_playlist_lines)
        except HTTPStatusError as err:
            if err.status in (403, 404):
                self._end(f"media playlist answered {err.status}")
                return False
            return self._failed(f"media playlist answered {err.status}")
        except PLAYLIST_ERRORS as err:
            return self._failed(f"media playlist fetch failed: {str(err) or type(err).__name__}")
        self._failures = 0
        self._handle(playlist)
        if playlist.endlist:
            self._end("media playlist ended (#EXT-X-ENDLIST)")
            return False
        return True

    def _failed(self, reason: str) -> bool:
        """A poll failed: a worker that never worked ends; a working one backs off and asks
        for a successor."""
        self._failures += 1
        if not self.working:
            self.log.warning("%s", reason)
            self._end("first polls failed")
            return False
        if self._failures == 1:
            self.log.warning("%s", reason)
        self.request_replacement(reason)
        return True

    def _handle(self, playlist: MediaPlaylist) -> None:
        now = self.clock.now()
        update = self.tracker.update(
            playlist,
            now,
            lambda start: not self.registry.is_claimed(start),
            window=(
                now - timedelta(seconds=self.settings.plausible_past),
                now + timedelta(seconds=self.settings.plausible_future),
            ),
        )
        for reason in update.rejected:
            if reason not in self._rejected:
                if len(self._rejected) >= 4096:
                    self._rejected.clear()
                self._rejected.add(reason)
                self.log.warning("rejected: %s", reason)
        for segment, start in update.ads:
            if self.registry.note_ad(start):
                metrics.ADS.labels(self.channel, self.quality).inc()
                self.log.debug("ad segment %d skipped", segment.sequence)
        self._count_date_ranges(playlist)
        for segment in update.skews:
            metrics.SKEWS.labels(self.channel, self.quality).inc()
            self.log.warning("timestamp skew at segment %d", segment.sequence)
            self.request_replacement("timestamp skew")
        if update.oldest is not None:
            self.registry.forget_before(update.oldest - timedelta(minutes=10))
        if update.became_working:
            self.log.info("worker is working")
            self._report(self.id, "working", self.fetched > 0)
        for fetch in update.fetch:
            # By URI too where starts are guesses (no program date time): each worker guesses
            # its own, and the same segment must not be fetched once per worker.
            guessed = fetch.segment.program_date_time is None
            if self.registry.claim(fetch.start, fetch.segment.uri if guessed else None):
                self.fetched += 1
                self._spawn(fetch)

    def _count_date_ranges(self, playlist: MediaPlaylist) -> None:
        """Date ranges that do not mark ads are counted per class and logged once per class;
        they never drop a segment (storing an ad loses nothing, dropping content does)."""
        for date_range in playlist.date_ranges:
            if is_ad_range(date_range) or not self.registry.note_range(date_range.id):
                continue
            class_ = date_range.class_ or "(none)"
            if self.registry.note_class(class_):
                self.log.info("date range class %r seen; counted, not treated as an ad", class_)
                metrics.DATERANGES.labels(self.channel, self.quality, class_)
            if class_ in self.registry.classes:
                metrics.DATERANGES.labels(self.channel, self.quality, class_).inc()

    def _spawn(self, fetch: Fetch) -> None:
        getter = SegmentGetter(self.context, fetch, self.clock.monotonic())
        task = asyncio.create_task(self._run_getter(getter))
        self.getters.add(task)
        task.add_done_callback(self.getters.discard)

    async def _run_getter(self, getter: SegmentGetter) -> str:
        async with self._slots:
            try:
                return await getter.run()
            except Exception:
                self.log.exception("%s: getter failed unexpectedly", getter.name)
                return "error"
