"""Clocks shared between processes: a scaled time line from a common epoch, and an offset."""

from __future__ import annotations

import time
from datetime import timedelta

from streamvault.clock import FakeClock, OffsetClock, ScaledClock


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
