"""Clocks: every "now" and every timed wait in streamvault goes through one of these.

The pure core takes a ``now`` value; the async shells take a :class:`Clock`, so tests run
long behaviours (59 s stalls, 20-minute give-ups, 20-hour URL expiry) in seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, in this clock's time."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Real time running ``scale`` times faster from ``origin``.

    The simulator and the components under test share one, so "2 s" segments can come every
    0.2 s of real time while every timestamp and timeout stays consistent.
    """

    def __init__(self, scale: float = 1.0, origin: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self.origin = origin or datetime.now(UTC)
        self._real_origin = time.monotonic()

    @classmethod
    def anchored(cls, scale: float, epoch: float) -> ScaledClock:
        """A scaled clock that shows real time at the Unix time ``epoch``: every process
        that makes one with the same scale and epoch (a simulator and the nodes recording it,
        a node after a restart) shares one time line."""
        wall = time.time()
        return cls(scale, datetime.fromtimestamp(epoch + (wall - epoch) * scale, UTC))

    def monotonic(self) -> float:
        return (time.monotonic() - self._real_origin) * self.scale

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)


class OffsetClock:
    """Another clock's time, ``offset`` seconds off (a node whose clock is wrong); waits and
    the monotonic clock are the other clock's."""

    def __init__(self, clock: Clock, offset: float) -> None:
        self.clock = clock
        self.offset = timedelta(seconds=offset)

    def now(self) -> datetime:
        return self.clock.now() + self.offset

    def monotonic(self) -> float:
        return self.clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)


class FakeClock:
    """A clock that moves only when told: ``advance`` wakes every sleeper whose time has come."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._counter), future))
        await future

    @property
    def sleepers(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float, step: float | None = None) -> None:
        """Move time forward, in ``step``s if given, letting woken tasks run at each step."""
        target = self._elapsed + seconds
        step = step or seconds
        while self._elapsed < target:
            self._elapsed = min(target, self._elapsed + step)
            while self._sleepers and self._sleepers[0][0] <= self._elapsed:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)


async def wait_event(clock: Clock, event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` of ``clock`` time pass; whether it is set."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        timer.cancel()
    return event.is_set()
