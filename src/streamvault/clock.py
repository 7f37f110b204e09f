"""Clocks: every "now" and every timed wait in streamvault goes through one of these.

The pure core takes a ``now`` value; the async shells take a :class:`Clock`, so tests run
long behaviours (59 s stalls, 20-minute give-ups, 20-hour URL expiry) in seconds.

A clock owns its waits as well as its time: :meth:`Clock.sleep`, :meth:`Clock.timeout`
(``asyncio.timeout`` in the clock's seconds), :meth:`Clock.wait` (sleep unless an event wakes
you) and :meth:`Clock.wait_any` (until a task is done or the time is up). Code that waits never
asks which clock it has; the system, scaled and fake clocks each say what a second is.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, in this clock's time."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[None]:
        """``asyncio.timeout`` in this clock's time: once ``seconds`` pass, the block is
        cancelled and ``TimeoutError`` raised."""

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Sleep ``seconds`` unless ``event`` is set first; whether it is set."""
        if event.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            async with self.timeout(seconds):
                await event.wait()
        return event.is_set()

    async def wait_any(
        self, tasks: Collection[asyncio.Future[T]], seconds: float
    ) -> set[asyncio.Future[T]]:
        """Wait until one of ``tasks`` is done or ``seconds`` pass; the done ones (the tasks
        themselves are left running)."""
        if not tasks:
            await self.sleep(seconds)
            return set()
        with contextlib.suppress(TimeoutError):
            async with self.timeout(seconds):
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return {task for task in tasks if task.done()}


@contextlib.asynccontextmanager
async def _timeout(
    seconds: float, arm: Callable[[asyncio.Timeout], Callable[[], None]]
) -> AsyncIterator[None]:
    """An ``asyncio.timeout`` that ``arm`` schedules (returning how to disarm it), whose
    ``TimeoutError`` says how long it waited in clock seconds."""
    deadline = asyncio.timeout(None)
    try:
        async with deadline:
            disarm = arm(deadline)
            try:
                yield
            finally:
                disarm()
    except TimeoutError as err:
        if deadline.expired():
            raise TimeoutError(f"no answer within {seconds:g} s") from err
        raise


def _after(real_seconds: float) -> Callable[[asyncio.Timeout], Callable[[], None]]:
    """Arms a timeout on the event loop's own clock, ``real_seconds`` from now."""

    def arm(deadline: asyncio.Timeout) -> Callable[[], None]:
        deadline.reschedule(asyncio.get_running_loop().time() + max(0.0, real_seconds))
        return lambda: None  # leaving the asyncio.Timeout disarms it

    return arm


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[None]:
        return _timeout(seconds, _after(seconds))


class ScaledClock(Clock):
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

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[None]:
        return _timeout(seconds, _after(seconds / self.scale))


class OffsetClock(Clock):
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

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[None]:
        return self.clock.timeout(seconds)


@dataclass(slots=True, eq=False)
class _Alarm:
    """Something a :class:`FakeClock` does when its time comes; ``ring`` None once done."""

    ring: Callable[[], None] | None


class FakeClock(Clock):
    """A clock that moves only when told: ``advance`` wakes every sleeper whose time has come
    and expires every timeout whose deadline has passed."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._alarms: list[tuple[float, int, _Alarm]] = []
        self._counter = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def _set(self, seconds: float, ring: Callable[[], None]) -> _Alarm:
        alarm = _Alarm(ring)
        heapq.heappush(self._alarms, (self._elapsed + seconds, next(self._counter), alarm))
        return alarm

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        alarm = self._set(seconds, wake)
        try:
            await future
        finally:
            alarm.ring = None

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[None]:
        def arm(deadline: asyncio.Timeout) -> Callable[[], None]:
            # expire on the next loop turn (asyncio.timeout's own way of expiring)
            if seconds <= 0:
                deadline.reschedule(0.0)
                return lambda: None
            alarm = self._set(seconds, lambda: deadline.reschedule(0.0))

            def disarm() -> None:
                alarm.ring = None

            return disarm

        return _timeout(seconds, arm)

    @property
    def sleepers(self) -> int:
        """Sleeps and timeouts waiting for their time."""
        return sum(1 for _, _, alarm in self._alarms if alarm.ring is not None)

    @property
    def deadlines(self) -> list[float]:
        """When the waiting sleeps and timeouts are due, in :meth:`monotonic` seconds."""
        return sorted(due for due, _, alarm in self._alarms if alarm.ring is not None)

    async def advance(self, seconds: float, step: float | None = None) -> None:
        """Move time forward, in ``step``s if given, letting woken tasks run at each step."""
        target = self._elapsed + seconds
        step = step or seconds
        while self._elapsed < target:
            self._elapsed = min(target, self._elapsed + step)
            while self._alarms and self._alarms[0][0] <= self._elapsed:
                _, _, alarm = heapq.heappop(self._alarms)
                ring, alarm.ring = alarm.ring, None
                if ring is not None:
                    ring()
            for _ in range(5):
                await asyncio.sleep(0)
