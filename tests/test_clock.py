"""Clocks: a scaled time line shared between processes, an offset, and every clock's waits."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from streamvault.clock import Clock, FakeClock, OffsetClock, ScaledClock, SystemClock


def test_anchored_clocks_made_apart_share_one_time_line() -> None:
    epoch = time.time() - 100.0
    first = ScaledClock.anchored(10.0, epoch)
    time.sleep(0.05)  # a second process starting later (a restart) must agree with the first
    second = ScaledClock.anchored(10.0, epoch)
    assert abs((second.now() - first.now()).total_seconds()) < 0.2
    # 100 real seconds since the epoch are 1000 scaled ones
    expected = epoch + 1000.0
    assert abs(first.now().timestamp() - expected) < 5.0


async def test_an_offset_clock_is_off_in_its_time_only() -> None:
    inner = FakeClock()
    clock = OffsetClock(inner, -150.0)
    assert clock.now() == inner.now() - timedelta(seconds=150)
    assert clock.monotonic() == inner.monotonic()
    await inner.advance(5)
    assert clock.now() == inner.now() - timedelta(seconds=150)


# -- waits and timeouts, in each clock's time ------------------------------------------------


async def settle() -> None:
    """Let newly created tasks start (and register their waits with the fake clock)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fake_wait_is_false_exactly_when_the_deadline_passes() -> None:
    clock = FakeClock()
    event = asyncio.Event()
    waiter = asyncio.ensure_future(clock.wait(event, 10.0))
    await settle()
    assert clock.sleepers == 1
    await clock.advance(9.999)
    assert not waiter.done()
    await clock.advance(0.001)
    assert waiter.done() and waiter.result() is False
    assert clock.sleepers == 0


async def test_fake_wait_is_true_when_the_event_comes_first() -> None:
    clock = FakeClock()
    event = asyncio.Event()
    waiter = asyncio.ensure_future(clock.wait(event, 10.0))
    await settle()
    await clock.advance(3.0)
    event.set()
    assert await waiter is True
    assert clock.sleepers == 0  # its timer is gone: advancing past it wakes nothing
    await clock.advance(10.0)
    assert await clock.wait(event, 5.0) is True  # already set: at once, no time passes
    assert clock.monotonic() == 13.0


async def test_fake_wait_of_no_time_does_not_wait_for_advance() -> None:
    clock = FakeClock()
    assert await clock.wait(asyncio.Event(), 0.0) is False
    assert await clock.wait(asyncio.Event(), -1.0) is False


async def test_fake_timeout_raises_in_fake_time_and_cancels_the_block() -> None:
    clock = FakeClock()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def body() -> None:
        async with clock.timeout(5.0):
            await never

    task = asyncio.ensure_future(body())
    await settle()
    await clock.advance(4.9)
    assert not task.done()
    await clock.advance(0.1)
    with pytest.raises(TimeoutError, match="within 5 s"):
        await task
    assert never.cancelled()


async def test_fake_timeout_lets_a_quick_block_finish_and_forgets_its_deadline() -> None:
    clock = FakeClock()
    async with clock.timeout(5.0):
        assert clock.sleepers == 1
        await asyncio.sleep(0)
    assert clock.sleepers == 0
    await clock.advance(10.0)  # nothing left to expire (a late expiry would cancel this task)
    await settle()


async def test_a_timeout_error_from_inside_the_block_is_not_the_clocks() -> None:
    for clock in (FakeClock(), SystemClock(), ScaledClock(10.0)):
        with pytest.raises(TimeoutError) as caught:
            async with clock.timeout(60.0):
                raise TimeoutError("the block's own")
        assert str(caught.value) == "the block's own"


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    clock = FakeClock()
    entered = asyncio.Event()

    async def body() -> None:
        async with clock.timeout(5.0):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_fake_wait_any_returns_done_tasks_or_nothing() -> None:
    clock = FakeClock()
    slow = asyncio.ensure_future(asyncio.sleep(3600))
    waiter = asyncio.ensure_future(clock.wait_any({slow}, 2.0))
    await settle()
    await clock.advance(1.9)
    assert not waiter.done()
    await clock.advance(0.1)
    assert await waiter == set()
    assert not slow.done()  # left running
    fast = asyncio.ensure_future(asyncio.sleep(0))
    assert await clock.wait_any({fast, slow}, 10.0) == {fast}
    slow.cancel()


async def test_fake_wait_any_of_nothing_sleeps() -> None:
    clock = FakeClock()
    waiter = asyncio.ensure_future(clock.wait_any(set(), 2.0))
    await settle()
    await clock.advance(2.0)
    assert await waiter == set()


async def test_an_offset_clock_waits_in_its_clocks_time() -> None:
    inner = FakeClock()
    clock = OffsetClock(inner, 3600.0)
    event = asyncio.Event()
    waiter = asyncio.ensure_future(clock.wait(event, 4.0))
    await settle()
    await inner.advance(4.0)
    assert await waiter is False


@pytest.mark.parametrize("clock", [SystemClock(), ScaledClock(100.0)], ids=["system", "scaled"])
async def test_real_clocks_wait_for_the_event_or_the_time(clock: Clock) -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_soon(event.set)
    assert await clock.wait(event, 3600.0) is True
    scale = float(getattr(clock, "scale", 1.0))
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await clock.wait(asyncio.Event(), 0.05 * scale) is False
    assert loop.time() - began >= 0.05 - 0.01  # never early: a clock second is 1/scale s


async def test_scaled_timeout_is_in_scaled_seconds() -> None:
    clock = ScaledClock(100.0)

    async def body() -> None:
        async with clock.timeout(10.0):  # 0.1 s of real time
            await asyncio.Event().wait()

    task = asyncio.ensure_future(body())
    done, _ = await asyncio.wait({task}, timeout=5.0)  # 10 real seconds would not be done
    assert task in done
    with pytest.raises(TimeoutError, match="within 10 s"):
        task.result()


async def test_system_timeout_raises_and_a_quick_block_passes() -> None:
    clock = SystemClock()
    with pytest.raises(TimeoutError):
        async with clock.timeout(0.01):
            await asyncio.Event().wait()
    async with clock.timeout(60.0):
        await asyncio.sleep(0)
