from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime

from streamvault.restreamer.cache import HourListingCache, InFlight
from streamvault.store import settle
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment

from .media import T0


def START(segment: Segment) -> datetime:
    return segment.start


def test_listing_is_reused_until_the_directory_changes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settle, "SETTLE_NS", 0)  # trust listings at once (mtime is coarse)
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


def test_a_listing_within_a_two_second_mtime_tick_is_not_trusted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """FAT stamps mtimes in 2 s steps: a directory changed 1.1 s before it was listed may
    still take a file in the same tick, which the next request must see."""
    store = SegmentStore(str(tmp_path))
    first = store.write_segment("c", "q", T0, 2.0, "full", b"one")
    directory = store.hour_dir("c", "q", first.hour)
    tick = time.time_ns() - 1_100_000_000
    os.utime(directory, ns=(tick, tick))
    listings = HourListingCache()
    assert listings.get(directory, "c", "q", first.hour).segments == [first]
    second = store.write_segment("c", "q", T0.replace(second=32), 2.0, "full", b"two")
    os.utime(directory, ns=(tick, tick))  # the same tick: the mtime says nothing changed
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


async def test_finished_playlists_are_kept_within_a_byte_bound(
    archive, clock, seen, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from streamvault.restreamer.state import ARCHIVE

    monkeypatch.setattr(settle, "SETTLE_NS", 0)  # the store was just written: trust it now

    from .conftest import serve

    client = await serve(archive.base, clock, seen)
    try:
        results = client.app[ARCHIVE].results
        results.max_bytes = 6000
        bodies = {}
        for second in range(20):  # 20 distinct closed ranges, about 1-2 kB each
            start, end = f"2026-11-28T03:59:{30 + second}", "2026-11-28T04:00:10"
            target = f"/playlist/test/source.m3u8?start={start}&end={end}"
            response = await client.get(target)
            assert response.status == 200
            bodies[target] = await response.read()
            assert results.bytes <= results.max_bytes
        assert 0 < len(results) < 20 and sum(map(len, bodies.values())) > results.max_bytes
        for target, body in bodies.items():  # evicted or kept, every answer stays right
            assert await (await client.get(target)).read() == body
    finally:
        await client.close()
