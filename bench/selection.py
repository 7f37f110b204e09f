"""Benchmark: segment selection over a day of 2 s segments (issue 2).

Prints the time per call of select_segments for a 24 h and a 1 h range over 43,200 segments,
and the cost of listing and parsing one 1,800-file hour directory, against the targets
(24 h selection <= 50 ms, in-process). The peer for the listing is `ls -f` of the same
directory (a plain directory read), measured in the same run.

    .venv/bin/python bench/selection.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment, hash_bytes
from streamvault.store.select import select_segments

T0 = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    day = [
        Segment("c", "source", T0 + timedelta(seconds=2 * i), 2.0, "full", hash_bytes(b"%d" % i))
        for i in range(43_200)
    ]
    full_day = timed(lambda: select_segments(day, T0, T0 + timedelta(hours=24)), 15)
    one_hour = timed(
        lambda: select_segments(day, T0 + timedelta(hours=5), T0 + timedelta(hours=6)), 15
    )
    print(
        f"select 24 h (43,200 segments): {full_day * 1000:7.1f} ms   target <= 50 ms "
        f"({'OK' if full_day <= 0.050 else 'MISSED'})"
    )
    print(f"select 1 h out of 24 h:        {one_hour * 1000:7.1f} ms")

    with tempfile.TemporaryDirectory() as base:
        store = SegmentStore(base)
        hour_dir = store.hour_dir("c", "source", "2026-11-28T00")
        os.makedirs(hour_dir)
        for segment in day[:1800]:
            with open(os.path.join(hour_dir, segment.name), "wb"):
                pass
        listing = timed(lambda: store.segments("c", "source", "2026-11-28T00"), 30)
        ls = timed(
            lambda: subprocess.run(["ls", "-f", hour_dir], stdout=subprocess.DEVNULL, check=True),
            30,
        )
        print(
            f"list + parse 1,800-file hour:  {listing * 1000:7.1f} ms   "
            f"(`ls -f` of the same directory, process included: {ls * 1000:.1f} ms, "
            f"ratio {listing / ls:.2f}x)"
        )


if __name__ == "__main__":
    main()
