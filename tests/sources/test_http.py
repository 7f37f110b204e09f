from __future__ import annotations

import asyncio

import pytest

from streamvault.clock import FakeClock, ScaledClock
from streamvault.sources.http import wait_any, within


async def settle() -> None:
    """Let newly created tasks start (and register their sleeps with the fake clock)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_within_times_out_in_fake_clock_time() -> None:
    clock = FakeClock()
    never = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(within(clock, 5.0, never))
    await settle()
    await clock.advance(4.9)
    assert not task.done()
    await clock.advance(0.2)
    with pytest.raises(TimeoutError):
        await task
    assert never.cancelled()


async def test_within_returns_the_result() -> None:
    async def answer() -> int:
        return 42

    assert await within(FakeClock(), 1.0, answer()) == 42
    assert await within(ScaledClock(100.0), 1.0, answer()) == 42


async def test_within_scaled_clock_shortens_real_time() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(TimeoutError):
        await within(ScaledClock(100.0), 10.0, asyncio.sleep(5))
    assert loop.time() - began < 1.0  # 10 clock seconds are 0.1 s of real time


async def test_wait_any_returns_done_tasks_or_nothing() -> None:
    clock = FakeClock()
    slow = asyncio.ensure_future(asyncio.sleep(3600))
    waiter = asyncio.ensure_future(wait_any(clock, {slow}, 2.0))
    await settle()
    await clock.advance(2.0)
    assert await waiter == set()
    fast = asyncio.ensure_future(asyncio.sleep(0))
    assert await wait_any(clock, {fast, slow}, 10.0) == {fast}
    slow.cancel()
