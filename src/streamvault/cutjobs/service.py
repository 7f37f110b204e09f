"""The cutter service (SPEC §12): claim an edited event, render it, store it, mark it done.

One job at a time per cutter (ffmpeg takes the cores); run several cutters for more. While a
job runs a keeper renews the lease every quarter lease and records progress; if the claim is
lost (the lease lapsed and another cutter took the event) the render is stopped and its
output thrown away, so every event ends with exactly one stored output.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.exc import SQLAlchemyError

from ..backfiller.copy import Copier
from ..backfiller.peers import Peer
from ..backfiller.progress import Progress
from ..backoff import Backoff
from ..clock import Clock, SystemClock
from ..errors import StreamvaultError
from ..events.jobs import JobQueue
from ..events.store import EventStore
from ..restreamer.archive import Archive
from .fetch import fetch_ranges
from .output import Output
from .render import EventCut, expected_bytes, plan_ranges, render

log = logging.getLogger(__name__)

JOBS = Gauge("streamvault_cutter_jobs", "Events in the database, by state", ["state"])
RENDER_SECONDS = Histogram(
    "streamvault_cutter_render_seconds",
    "Time from claiming an event to its output being stored (or the job failing)",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600),
)
FINISHED = Counter(
    "streamvault_cutter_jobs_finished_total",
    "Cut jobs this cutter finished: done, failed, or lost (its lease lapsed)",
    ["outcome"],
)
FAILURES = Counter(
    "streamvault_cutter_failures_total", "Cut jobs that ended FAILED, by what went wrong", ["kind"]
)
OUTPUT_BYTES = Counter("streamvault_cutter_output_bytes_total", "Bytes of finished cuts stored")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
#: Back-off after a database error: from this many seconds, doubling, to the cap.
ERROR_BACKOFF = Backoff(1.0, 60.0, jitter=(0.8, 1.2))


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Settings:
    name: str = field(default_factory=default_name)
    lease: float = 60.0  # seconds a claim lasts without renewal
    poll: float = 5.0  # seconds between looks for work when there is none


@dataclass(slots=True)
class Meter:
    """How far a job got: bytes written of about how many (for the event's progress)."""

    written: int = 0
    expected: int = 1

    def count(self, size: int) -> None:
        self.written += size

    @property
    def progress(self) -> float:
        return min(0.99, self.written / max(1, self.expected))


def output_name(event: dict[str, Any], extension: str) -> str:
    """``CHANNEL-QUALITY-ID-vVERSION.EXT``: the version of the claim, so a re-cut is new."""
    name = f"{event['channel']}-{event['quality']}-{event['id']}-v{event['version']}"
    return _UNSAFE.sub("_", name) + f".{extension}"


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:500]


class Cutter:
    def __init__(
        self,
        events: EventStore,
        archive: Archive,
        output: Output,
        *,
        peers: Sequence[Peer] = (),
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.events = events
        self.archive = archive
        self.output = output
        self.peers = list(peers)
        self.clock = clock or SystemClock()
        self.settings = settings or Settings()
        # a claim is this process's own: a restarted cutter never mistakes an old one for it
        self.queue = JobQueue(
            events, f"{self.settings.name}-{uuid.uuid4().hex[:8]}", self.settings.lease
        )
        self.copier = (
            Copier(archive.store, session, self.clock, Progress(self.clock))
            if session is not None and self.peers
            else None
        )
        self.done = 0
        self.failed = 0

    async def run_once(self) -> int:
        """Render everything claimable now; returns how many failed."""
        while await self.step():
            pass
        await self.update_counts()
        return self.failed

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; the job in hand is finished first."""
        failures = 0
        while not stop.is_set():
            try:
                worked = await self.step()
                await self.update_counts()
                failures = 0
            except (SQLAlchemyError, OSError) as err:
                failures += 1
                delay = ERROR_BACKOFF.delay(failures)
                log.warning(
                    "cutter: database trouble (%s); retrying in %.0f s", one_line(err), delay
                )
                worked = False
            else:
                delay = self.settings.poll
            if not worked:
                await self.clock.wait(stop, delay)

    async def update_counts(self) -> None:
        for state, count in (await self.events.counts()).items():
            JOBS.labels(state).set(count)

    async def step(self) -> bool:
        """Claim and cut one event; False when there was nothing to claim."""
        event = await self.queue.claim()
        if event is None:
            return False
        log.info("event %d: claimed by %s", event["id"], self.queue.cutter)
        began = self.clock.monotonic()
        try:
            await self._cut(event)
        finally:
            RENDER_SECONDS.observe(self.clock.monotonic() - began)
        return True

    async def _cut(self, event: dict[str, Any]) -> None:
        meter = Meter()
        work = asyncio.ensure_future(self._render(event, meter))
        keeper = asyncio.ensure_future(self._keep(event["id"], work, meter))
        try:
            stored = await work
        except asyncio.CancelledError:
            if keeper.done() and keeper.result() is False:
                FINISHED.labels("lost").inc()
                log.warning("event %d: the claim lapsed; another cutter has it", event["id"])
                return
            await asyncio.shield(self._release(event["id"]))
            raise
        except Exception as err:
            await self._failed(event, err)
            return
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if await self.queue.finish(event["id"], stored, None):
            self.done += 1
            FINISHED.labels("done").inc()
            OUTPUT_BYTES.inc(stored["size"])
            log.info(
                "event %d: DONE, %s (%d bytes)", event["id"], stored["location"], stored["size"]
            )
        else:
            FINISHED.labels("lost").inc()
            log.warning(
                "event %d: finished but the claim had lapsed; output not recorded", event["id"]
            )

    async def _release(self, event_id: int) -> None:
        """Stopped mid-job: hand the event back rather than make others wait out the lease."""
        try:
            if await self.queue.release(event_id):
                log.info("event %d: handed back unfinished (the cutter is stopping)", event_id)
        except (SQLAlchemyError, OSError) as err:
            log.warning("event %d: could not hand it back: %s", event_id, one_line(err))

    async def _failed(self, event: dict[str, Any], err: Exception) -> None:
        reason = one_line(err)
        if isinstance(err, StreamvaultError):
            kind = type(err).__name__
            log.error("event %d: FAILED: %s", event["id"], reason)
        else:
            kind = "internal"
            reason = f"internal error: {reason}"
            log.exception("event %d: FAILED with an internal error", event["id"])
        if await self.queue.finish(event["id"], None, reason):
            self.failed += 1
            FAILURES.labels(kind).inc()
            FINISHED.labels("failed").inc()

    async def _render(self, event: dict[str, Any], meter: Meter) -> dict[str, Any]:
        job = EventCut.from_event(event)
        if self.copier is not None:
            await fetch_ranges(
                self.archive, self.copier, self.peers, job.channel, job.quality, job.ranges
            )
        plans = await asyncio.to_thread(plan_ranges, self.archive, job)
        meter.expected = await asyncio.to_thread(expected_bytes, plans, self.archive)
        chunks = render(plans, job, self.archive)
        name = output_name(event, job.extension)
        try:
            stored = await self.output.store(name, chunks, meter.count)
        finally:
            await chunks.aclose()
        return stored.as_json()

    async def _keep(self, event_id: int, work: asyncio.Future[Any], meter: Meter) -> bool:
        """Renew the lease until the work ends; False (and the work cancelled) if it is lost."""
        while not work.done():
            await self.clock.sleep(self.settings.lease / 4)
            try:
                mine = await self.queue.renew(event_id, meter.progress)
            except (SQLAlchemyError, OSError) as err:
                log.warning("event %d: could not renew the lease: %s", event_id, one_line(err))
                continue
            if not mine:
                work.cancel()
                return False
        return True
