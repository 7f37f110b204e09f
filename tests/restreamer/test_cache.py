from __future__ import annotations

import asyncio
import os
from datetime import datetime

from streamvault.restreamer import cache
from streamvault.restreamer.cache import HourListingCache, InFlight
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment

from .media import T0


def START(segment: Segment) -> datetime:
    return segment.start


def test_listing_is_reused_until_the_directory_changes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cache, "SETTLE_NS", 0)  # trust listings at once (mtime is coarse)
    store = SegmentStore(str(tmp_path))
    first = store.write_segment("c", "q", T0, 2.0, "full", b"one")
    directory = store.hour_dir("c", "q", first.hour)
    os.utime(directory, ns=(1, 1_000_000_000))
    listings = HourListingCache()
    assert listings.get(directory, "c", "q", first.hour).segments == [first]
    assert listings.get(directory, "c", "q", first.hour).segments == [first]
    assert (listings.hits, listings.misses) == (1, 1)
    second = store.write_segment("c", "q", T0.replace(second=32), 2.0, "full", b"two")
    assert sorted(listings.get(directory, "c", "q", first.hour).segments, key=START) == [
        first,
        second,
    ]


def test_a_listing_taken_just_after_a_change_is_not_trusted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SegmentStore(str(tmp_path))
    first = store.write_segment("c", "q", T0, 2.0, "full", b"one")
    directory = store.hour_dir("c", "q", first.hour)
    listings = HourListingCache()
    listings.get(directory, "c", "q", first.hour)
    # a second file in the same coarse mtime tick: the directory's mtime may not change
    stat = os.stat(directory)
    second = store.write_segment("c", "q", T0.replace(second=32), 2.0, "full", b"two")
    os.utime(directory, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sorted(listings.get(directory, "c", "q", first.hour).segments, key=START) == [
        first,
        second,
    ]


def test_missing_directory_is_empty(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert HourListingCache().get(str(tmp_path / "nope"), "c", "q", "2026-11-28T03").segments == []


async def test_identical_concurrent_requests_share_one_computation() -> None:
    inflight = InFlight()
    calls = 0
    gate = asyncio.Event()

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "result"

    waiters = [asyncio.ensure_future(inflight.run("key", compute)) for _ in range(5)]
    other = asyncio.ensure_future(inflight.run("other", compute))
    await asyncio.sleep(0)
    waiters[0].cancel()  # one client leaves: the others still get their answer
    gate.set()
    results = await asyncio.gather(*waiters[1:], other)
    assert results == ["result"] * 5
    assert calls == 2
    # done computations are forgotten: a later request computes again
    assert await inflight.run("key", compute) == "result"
    assert calls == 3
