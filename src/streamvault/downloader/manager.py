"""One manager per channel: fetch the master playlist, run the workers its rollover asks for.

Which workers run and which stop is decided by one :class:`Rollover` per quality (pure); the
manager feeds it what its workers report and what the master playlist says, and does what it
returns. When the master playlist fails, important channels retry after 5 s and log "stream
down" at INFO, others after 20 s at DEBUG. A quality missing from the master is a warning and
is retried; it never holds up the other qualities.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from datetime import timedelta
from typing import Protocol

import aiohttp

from ..clock import Clock
from ..errors import StreamOffline
from ..logs import stream_logger
from ..sources.http import new_session
from ..store.disk import SegmentStore
from . import metrics
from .rollover import Actions, Rollover
from .settings import Settings
from .tracker import SegmentRegistry
from .worker import Report, StreamWorker, WorkerEnv, WorkerEvent

log = logging.getLogger(__name__)

IDLE = 3600.0  # nothing wanted: look again after this long anyway


class Source(Protocol):
    async def media_playlists(
        self, session: aiohttp.ClientSession, clock: Clock, qualities: list[str]
    ) -> dict[str, str | None]: ...


def _jitter() -> float:
    """Never shorter than the interval: retries are spread, never more frequent."""
    return random.uniform(1.0, 1.2)


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
        self.clock = clock
        self.settings = settings
        self.important = important
        self.log = stream_logger(log, channel)
        self.shutting_down = asyncio.Event()  # set on stop(): getters retry no more
        self.env = WorkerEnv(
            channel, store, clock, settings, ssl_context, self.shutting_down, self.retry_interval
        )
        self.rollovers = {
            q: Rollover(
                self.retry_interval,
                settings.min_refresh_interval,
                settings.fruitless_backoff_cap,
                _jitter,
            )
            for q in self.qualities
        }
        self.workers: dict[str, list[StreamWorker]] = {q: [] for q in self.qualities}
        self.registries = {q: SegmentRegistry() for q in self.qualities}
        self.stopping = False
        self.tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._missing_warned: set[str] = set()
        self._down = False
        self._last_refresh = float("-inf")

    @property
    def retry_interval(self) -> float:
        s = self.settings
        return s.master_retry_important if self.important else s.master_retry

    # --- what workers report --------------------------------------------------------------

    def _reporter(self, quality: str) -> Report:
        def report(worker: int, event: WorkerEvent, fruitful: bool) -> None:
            rollover, now = self.rollovers[quality], self.clock.monotonic()
            if event == "working":
                actions = rollover.working(worker)
            elif event == "replace":
                actions = rollover.replacement_wanted(worker, now)
            elif event == "ended":
                actions = rollover.ended(worker, now, fruitful)
            else:
                actions = rollover.finished(worker, now)
                self.workers[quality] = [w for w in self.workers[quality] if w.id != worker]
            self._act(quality, actions)

        return report

    def _act(self, quality: str, actions: Actions) -> None:
        for worker in self.workers[quality]:
            if worker.id in actions.stop and not worker.stopping:
                worker.log.info("replaced by a working worker, stopping")
                worker.stop()
        self._wake.set()

    # --- the manager's own loop ----------------------------------------------------------------

    def _due(self, now: float) -> tuple[list[str], float]:
        """Qualities whose worker should start now, and when to look again."""
        due, wake = [], now + IDLE
        for quality, rollover in self.rollovers.items():
            at = rollover.start_at()
            if at is None:
                continue
            at = max(at, self._last_refresh + self.settings.min_refresh_interval)
            if at <= now:
                due.append(quality)
            else:
                wake = min(wake, at)
        return due, wake

    async def run(self) -> None:
        session = new_session(self.env.ssl_context)
        try:
            while not self.stopping:
                self._wake.clear()
                due, wake = self._due(self.clock.monotonic())
                if due:
                    self._last_refresh = self.clock.monotonic()
                    try:
                        await self._refresh(session, due)
                    except Exception:  # our bug: log it, keep the channel alive
                        self.log.exception("unexpected error while starting workers")
                        for quality in due:
                            self.rollovers[quality].master_failed(self.clock.monotonic())
                    continue
                self._forget_old()
                await self.clock.wait(self._wake, wake - self.clock.monotonic())
        finally:
            await session.close()

    async def _refresh(self, session: aiohttp.ClientSession, wanted: list[str]) -> None:
        try:
            urls = await self.source.media_playlists(session, self.clock, wanted)
        except Exception as err:
            if isinstance(err, StreamOffline):
                self._report_down(f"stream down ({err})")
            else:
                self._report_down(
                    f"stream down: master playlist failed: {err or type(err).__name__}"
                )
            for quality in wanted:
                self.rollovers[quality].master_failed(self.clock.monotonic())
            return
        if self._down:
            self.log.info("stream is up")
        self._set_down(False)
        for quality in wanted:
            url = urls.get(quality)
            rollover = self.rollovers[quality]
            if self.stopping or rollover.start_at() is None:
                continue
            if url is None:
                if quality not in self._missing_warned:
                    self._missing_warned.add(quality)
                    self.log.warning("quality %s not in the master playlist; will retry", quality)
                rollover.master_failed(self.clock.monotonic())
                continue
            self._missing_warned.discard(quality)
            self._start_worker(quality, url, rollover.started(self.clock.monotonic()))

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

    def _start_worker(self, quality: str, url: str, id: int) -> None:
        worker = StreamWorker(
            self.env, id, quality, url, self.registries[quality], self._reporter(quality)
        )
        self.workers[quality].append(worker)
        worker.log.info("starting worker (%d running)", len(self.workers[quality]))
        task = asyncio.create_task(worker.run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _forget_old(self) -> None:
        cutoff = self.clock.now() - timedelta(seconds=self.settings.forget_after)
        for registry in self.registries.values():
            registry.forget_before(cutoff)

    # --- shutdown --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop polling everywhere; getters in flight go on until :meth:`abandon`."""
        self.stopping = True
        self._wake.set()
        self.shutting_down.set()
        for quality, rollover in self.rollovers.items():
            rollover.close()
            for worker in self.workers[quality]:
                worker.stop()

    def abandon(self) -> None:
        """The grace is over: every getter still running is cancelled (no temp file stays)."""
        for workers in self.workers.values():
            for worker in workers:
                worker.abandon()
