"""One worker per (channel, quality): poll the media playlist, start a getter per new segment.

A worker shares one keep-alive pool between its playlist polls and its getters' first
attempts (TLS set-up is expensive); retries get a fresh connection. A worker asks its manager
for a replacement before its URL expires, on 403/404, on ``#EXT-X-ENDLIST``, on a timestamp
skew and on any unexpected error; it stops polling when told to (its getters finish first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp

from ..clock import Clock
from ..errors import BadPlaylist, HTTPStatusError
from ..hls.models import MediaPlaylist
from ..hls.parse import parse_media
from ..logs import stream_logger
from ..sources.http import fetch_text, wait_any
from ..store.disk import SegmentStore
from . import metrics
from .getter import SegmentGetter
from .settings import Settings
from .tracker import Fetch, PlaylistTracker, SegmentRegistry

if TYPE_CHECKING:
    from .manager import ChannelManager

log = logging.getLogger(__name__)

READ_BUFFER = 1 << 20


def new_session(ssl_context: ssl.SSLContext | None, fresh: bool = False) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=0, force_close=fresh, ssl=ssl_context if ssl_context is not None else True
    )
    # A 1 MiB read buffer: a segment arrives in a few large chunks instead of dozens of 64 KiB
    # ones, each costing an event-loop turn, a write and a hash update.
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), read_bufsize=READ_BUFFER
    )


class StreamWorker:
    def __init__(
        self, manager: ChannelManager, quality: str, url: str, registry: SegmentRegistry
    ) -> None:
        self.manager = manager
        self.channel = manager.channel
        self.quality = quality
        self.url = url
        self.registry = registry
        self.store: SegmentStore = manager.store
        self.clock: Clock = manager.clock
        self.settings: Settings = manager.settings
        self.log = stream_logger(log, self.channel, quality)
        self.tracker = PlaylistTracker(self.settings.skew_tolerance)
        self.session = new_session(manager.ssl_context)
        self.getters: set[asyncio.Task[str]] = set()
        self.stopping = False
        self.replacement_requested = False
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.settings.max_getters)
        self._maps: dict[str, bytes] = {}
        self.started = self.clock.monotonic()
        metrics.touch(self.channel, quality)

    @property
    def working(self) -> bool:
        return self.tracker.working

    def stop(self) -> None:
        """Stop polling; in-flight getters still finish."""
        self.stopping = True
        self._wake.set()

    def request_replacement(self, reason: str) -> None:
        if not self.replacement_requested:
            self.replacement_requested = True
            self.log.info("asking for a new worker: %s", reason)
            self.manager.replacement_requested(self)

    @contextlib.asynccontextmanager
    async def fresh_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        session = new_session(self.manager.ssl_context, fresh=True)
        try:
            yield session
        finally:
            await session.close()

    async def init_section(self, uri: str | None, session: aiohttp.ClientSession) -> bytes:
        if uri is None:
            return b""
        if uri not in self._maps:
            async with session.get(uri) as response:
                if response.status != 200:
                    raise HTTPStatusError(response.status, uri.split("?")[0])
                self._maps[uri] = await response.read()
        return self._maps[uri]

    async def run(self) -> None:
        try:
            await self._poll_loop()
        except Exception:
            self.log.exception("worker failed unexpectedly")
            self.request_replacement("unexpected error")
        finally:
            self.stopping = True
            if self.getters:
                await asyncio.wait(self.getters)
            await self.session.close()
            self.manager.worker_finished(self)

    async def _poll_loop(self) -> None:
        first = True
        while not self.stopping:
            began = self.clock.monotonic()
            if began - self.started >= self.settings.worker_rollover:
                self.request_replacement("URL is getting old")
            if not await self._poll(first):
                return
            first = False
            elapsed = self.clock.monotonic() - began
            if not self.stopping:
                wake = asyncio.ensure_future(self._wake.wait())
                try:
                    await wait_any(self.clock, {wake}, self.settings.poll_interval - elapsed)
                finally:
                    wake.cancel()

    async def _poll(self, first: bool) -> bool:
        """One playlist poll; False when this worker must stop polling."""
        try:
            text = await fetch_text(
                self.session, self.clock, self.url, "playlist", self.settings.playlist_timeout
            )
            playlist = parse_media(text, self.url)
        except HTTPStatusError as err:
            self.log.info("media playlist answered %d, stopping", err.status)
            self.request_replacement(f"media playlist answered {err.status}")
            return err.status not in (403, 404) and not first
        except (aiohttp.ClientError, OSError, TimeoutError, BadPlaylist) as err:
            self.log.warning("media playlist fetch failed: %s", err or type(err).__name__)
            self.request_replacement("media playlist fetch failed")
            return not first
        self._handle(playlist)
        if playlist.endlist:
            self.log.info("media playlist ended (#EXT-X-ENDLIST)")
            self.request_replacement("#EXT-X-ENDLIST")
            return False
        return True

    def _handle(self, playlist: MediaPlaylist) -> None:
        update = self.tracker.update(
            playlist, self.clock.now(), lambda start: not self.registry.is_claimed(start)
        )
        for segment, start in update.ads:
            if self.registry.note_ad(start):
                metrics.ADS.labels(self.channel, self.quality).inc()
                self.log.debug("ad segment %d skipped", segment.sequence)
        for segment in update.skews:
            metrics.SKEWS.labels(self.channel, self.quality).inc()
            self.log.warning("timestamp skew at segment %d", segment.sequence)
            self.request_replacement("timestamp skew")
        if update.oldest is not None:
            self.registry.forget_before(update.oldest - timedelta(minutes=10))
        if update.became_working:
            self.log.info("worker is working")
            self.manager.worker_working(self)
        for fetch in update.fetch:
            if self.registry.claim(fetch.start):
                self._spawn(fetch)

    def _spawn(self, fetch: Fetch) -> None:
        getter = SegmentGetter(self, fetch, self.clock.monotonic())
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
