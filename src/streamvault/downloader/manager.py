"""One manager per channel: fetch the master playlist, keep one working worker per quality.

A replacement worker runs beside the old one; the old one stops only once the new one saw its
first non-ad segment. When the master playlist fails, important channels retry after 5 s and
log "stream down" at INFO, others after 20 s at DEBUG. A quality missing from the master is a
warning and is retried; it never holds up the other qualities.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from datetime import timedelta
from typing import Protocol

import aiohttp

from ..clock import Clock
from ..logs import stream_logger
from ..sources.http import wait_any
from ..sources.twitch import StreamOffline
from ..store.disk import SegmentStore
from . import metrics
from .settings import Settings
from .tracker import SegmentRegistry
from .worker import StreamWorker, new_session

log = logging.getLogger(__name__)


class Source(Protocol):
    async def media_playlists(
        self, session: aiohttp.ClientSession, clock: Clock, qualities: list[str]
    ) -> dict[str, str | None]: ...


class ChannelManager:
    def __init__(
        self,
        channel: str,
        source: Source,
        qualities: list[str],
        store: SegmentStore,
        clock: Clock,
        settings: Settings,
        important: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.channel = channel
        self.source = source
        self.qualities = list(qualities)
        self.store = store
        self.clock = clock
        self.settings = settings
        self.important = important
        self.ssl_context = ssl_context
        self.log = stream_logger(log, channel)
        self.workers: dict[str, list[StreamWorker]] = {q: [] for q in self.qualities}
        self.registries = {q: SegmentRegistry() for q in self.qualities}
        self.wanted: set[str] = set(self.qualities)
        self.stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.shutting_down = asyncio.Event()  # set on stop(): getters retry no more
        self._missing_warned: set[str] = set()
        self._down = False
        self._last_refresh = float("-inf")

    # --- called by workers -----------------------------------------------------------------

    def replacement_requested(self, worker: StreamWorker) -> None:
        newest = self.workers[worker.quality]
        if newest and newest[-1] is worker and not self.stopping:
            self.wanted.add(worker.quality)
            self._wake.set()

    def worker_working(self, worker: StreamWorker) -> None:
        """The new worker saw a real segment: every older worker of its quality stops."""
        for older in self.workers[worker.quality]:
            if older is worker:
                break
            if not older.stopping:
                older.log.info("replaced by a working worker, stopping")
                older.stop()

    def worker_finished(self, worker: StreamWorker) -> None:
        workers = self.workers[worker.quality]
        if worker in workers:
            workers.remove(worker)
        if not workers and not self.stopping:
            self.wanted.add(worker.quality)  # never leave a quality without a worker
            self._wake.set()

    # --- the manager's own loop ----------------------------------------------------------------

    @property
    def retry_interval(self) -> float:
        s = self.settings
        return s.master_retry_important if self.important else s.master_retry

    async def run(self) -> None:
        session = new_session(self.ssl_context)
        try:
            while not self.stopping:
                self._wake.clear()
                if self.wanted:
                    pause = self._last_refresh + self.settings.min_refresh_interval
                    await self.clock.sleep(pause - self.clock.monotonic())
                    self._last_refresh = self.clock.monotonic()
                    try:
                        await self._refresh(session)
                    except Exception:  # our bug: log it, keep the channel alive
                        self.log.exception("unexpected error while starting workers")
                self._forget_old()
                delay = self.retry_interval if self.wanted else 3600.0
                wake = asyncio.ensure_future(self._wake.wait())
                try:
                    await wait_any(self.clock, {wake}, delay)
                finally:
                    wake.cancel()
        finally:
            await session.close()

    async def _refresh(self, session: aiohttp.ClientSession) -> None:
        wanted = sorted(self.wanted)
        try:
            urls = await self.source.media_playlists(session, self.clock, wanted)
        except StreamOffline as err:
            self._report_down(f"stream down ({err})")
            return
        except Exception as err:
            self._report_down(f"stream down: master playlist failed: {err or type(err).__name__}")
            return
        if self._down:
            self.log.info("stream is up")
        self._set_down(False)
        self._last_refresh = float("-inf")
        for quality in wanted:
            url = urls.get(quality)
            if url is None:
                if quality not in self._missing_warned:
                    self._missing_warned.add(quality)
                    self.log.warning("quality %s not in the master playlist; will retry", quality)
                continue
            self._missing_warned.discard(quality)
            self.wanted.discard(quality)
            self._start_worker(quality, url)

    def _report_down(self, reason: str) -> None:
        """Log the change to down once (INFO for an important channel); each retry after it
        only at DEBUG."""
        level = logging.INFO if self.important and not self._down else logging.DEBUG
        self.log.log(level, "%s, retrying every %.0f s", reason, self.retry_interval)
        self._set_down(True)

    def _set_down(self, down: bool) -> None:
        """Remember whether the stream is down, and publish it for the "stream down" alert."""
        self._down = down
        metrics.CHANNEL_UP.labels(self.channel, str(self.important).lower()).set(0 if down else 1)

    def _start_worker(self, quality: str, url: str) -> None:
        worker = StreamWorker(self, quality, url, self.registries[quality])
        self.workers[quality].append(worker)
        worker.log.info("starting worker (%d running)", len(self.workers[quality]))
        task = asyncio.create_task(worker.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget_old(self) -> None:
        cutoff = self.clock.now() - timedelta(seconds=self.settings.forget_after)
        for registry in self.registries.values():
            registry.forget_before(cutoff)

    # --- shutdown --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop polling everywhere; getters in flight go on until :meth:`wait_closed`."""
        self.stopping = True
        self._wake.set()
        self.shutting_down.set()
        for workers in self.workers.values():
            for worker in workers:
                worker.stop()

    async def wait_closed(self, grace: float) -> None:
        """Wait up to ``grace`` real seconds for workers, then cancel what is left."""
        tasks = set(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            for worker in [w for ws in self.workers.values() for w in ws]:
                for getter in list(worker.getters):
                    getter.cancel()
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
