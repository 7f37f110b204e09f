"""Growing, jittered back-off: how long to wait after the n-th failure in a row.

Every retry loop in streamvault (segment downloads, playlist polls, peer copies, chat and
emote connections, restarted components, the cutter's database) waits ``floor`` after its first
failure, ``growth`` times longer after each further one, never more than ``ceiling``; the wait
is then multiplied by a uniform draw from ``jitter`` so that many retries that failed together
do not come back together. Pure: the caller sleeps, on its clock, and may pass its own random
draw (a seeded ``random.Random().uniform`` in tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

#: Growth stops counting here: ``floor * growth ** steps`` is past any ceiling long before, and
#: a float power of a huge failure count would overflow.
MAX_STEPS = 64


@dataclass(frozen=True, slots=True)
class Backoff:
    floor: float  # the wait after the first failure
    ceiling: float  # no wait grows past this before the jitter (it wins over the floor)
    growth: float = 2.0
    jitter: tuple[float, float] = (1.0, 1.0)  # the wait is multiplied by a draw from this range

    def base(self, failures: int) -> float:
        """The wait after ``failures`` failures in a row, before the jitter (0 for none)."""
        if failures <= 0:
            return 0.0
        steps = min(failures - 1, MAX_STEPS)
        return float(min(self.ceiling, self.floor * self.growth**steps))

    def delay(self, failures: int, draw: Callable[[float, float], float] = random.uniform) -> float:
        """The jittered wait after ``failures`` failures in a row (0 for none)."""
        base = self.base(failures)
        low, high = self.jitter
        if base == 0 or low == high == 1.0:
            return base
        return base * draw(low, high)
