"""The one back-off every retry loop uses: floor, growth, ceiling, then jitter."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.backoff import Backoff


@pytest.mark.parametrize(
    ("backoff", "failures", "expected"),
    [
        (Backoff(1.0, 30.0), 0, 0.0),  # nothing failed: no wait
        (Backoff(1.0, 30.0), -3, 0.0),
        (Backoff(1.0, 30.0), 1, 1.0),  # the floor after the first failure
        (Backoff(1.0, 30.0), 2, 2.0),
        (Backoff(1.0, 30.0), 5, 16.0),
        (Backoff(1.0, 30.0), 6, 30.0),  # 32 is past the ceiling
        (Backoff(1.0, 30.0), 10**9, 30.0),  # no overflow after a billion failures
        (Backoff(2.0, 100.0, growth=1.5), 3, 4.5),
        (Backoff(2.0, 100.0, growth=1.0), 50, 2.0),  # no growth: a fixed interval
        (Backoff(20.0, 5.0), 1, 5.0),  # a ceiling below the floor wins
    ],
)
def test_base_grows_from_the_floor_to_the_ceiling(
    backoff: Backoff, failures: int, expected: float
) -> None:
    assert backoff.base(failures) == expected


def test_without_jitter_the_delay_is_the_base_and_nothing_is_drawn() -> None:
    def draw(low: float, high: float) -> float:
        raise AssertionError("drew a jitter for a back-off without one")

    backoff = Backoff(1.0, 300.0)
    assert [backoff.delay(n, draw) for n in range(11)] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_jitter_multiplies_the_base_by_a_draw_from_its_range() -> None:
    asked: list[tuple[float, float]] = []

    def draw(low: float, high: float) -> float:
        asked.append((low, high))
        return high

    backoff = Backoff(1.0, 60.0, jitter=(0.8, 1.2))
    assert backoff.delay(3, draw) == pytest.approx(4.8)
    assert asked == [(0.8, 1.2)]
    assert backoff.delay(100, draw) == pytest.approx(72.0)  # the jitter applies past the ceiling


def test_jittered_delays_spread_over_the_range() -> None:
    rng = random.Random(7)
    backoff = Backoff(10.0, 10.0, jitter=(0.5, 1.0))
    delays = [backoff.delay(1, rng.uniform) for _ in range(200)]
    assert all(5.0 <= d <= 10.0 for d in delays)
    assert max(delays) - min(delays) > 4.0  # not all the same: retries do not come back together


@given(
    floor=st.floats(0.0, 1e3),
    ceiling=st.floats(0.0, 1e4),
    growth=st.floats(1.0, 10.0),
    failures=st.integers(1, 10**6),
)
def test_waits_never_shrink_and_never_pass_the_ceiling(
    floor: float, ceiling: float, growth: float, failures: int
) -> None:
    backoff = Backoff(floor, ceiling, growth)
    assert backoff.base(failures) <= backoff.base(failures + 1) <= ceiling
    assert backoff.base(1) == min(floor, ceiling)
