"""The downloader against a small origin of our own: getter behaviour, segment by segment."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from streamvault.clock import ScaledClock
from streamvault.downloader.initmap import InitSections
from streamvault.downloader.service import ChannelSpec, Downloader
from streamvault.downloader.settings import Settings
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import EMPTY_HASH, Segment, hash_bytes
from tests.helpers import eventually

from .origin import Origin

SCALE = 40.0


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = Origin(ScaledClock(SCALE))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def slow_origin() -> AsyncIterator[Origin]:
    """At 10x: for a test that counts attempts inside a few clock seconds, which at 40x is a
    fifth of a real second, less than a loaded machine needs for three HTTP attempts."""
    server = Origin(ScaledClock(10.0))
    await server.start()
    yield server
    await server.stop()


def stored(store: SegmentStore, channel: str, quality: str = "source") -> list[Segment]:
    return [
        s
        for hour in store.hours(channel, quality)
        for s in store.segments(channel, quality, hour).segments
    ]


def temp_files(base: Path) -> list[str]:
    return [name for _, _, names in os.walk(base) for name in names if "-temp-" in name]


async def until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def make(origin: Origin, tmp_path: Path, url: str | None = None, **settings: float) -> Downloader:
    settings.setdefault("stop_grace", 120.0)  # clock seconds: 3 real seconds at 40x
    return Downloader(
        SegmentStore(str(tmp_path)),
        [ChannelSpec("chan", type="url", url=url or f"{origin.url}/master.m3u8")],
        ["source"],
        clock=origin.clock,
        settings=Settings(**settings),  # type: ignore[arg-type]
    )


def by_start(origin: Origin, segments: list[Segment]) -> dict[int, list[Segment]]:
    found: dict[int, list[Segment]] = {}
    for segment in segments:
        seq = round((segment.start - origin.clock.origin).total_seconds() / origin.duration)
        found.setdefault(seq, []).append(segment)
    return found


async def test_records_master_url_as_source_byte_identical(origin: Origin, tmp_path: Path) -> None:
    store = SegmentStore(str(tmp_path))
    async with make(origin, tmp_path):
        await until(lambda: origin.published() >= 25)
        last = origin.published() - 2

        # every segment up to there, however far behind a loaded machine keeps the downloader
        # (at 40x, two segments are 0.1 s of real time)
        def held() -> set[int]:
            return set(by_start(origin, stored(store, "chan")))

        await eventually(
            lambda: set(range(10, last)) <= held(),
            lambda: f"segments 10..{last - 1} stored, not only {sorted(held())}",
        )
    segments = by_start(origin, stored(store, "chan"))
    for seq in range(10, last):
        assert len(segments[seq]) == 1, seq
        segment = segments[seq][0]
        assert segment.type == "full" and segment.duration == 2.0
        assert segment.hash == origin.hash("source", seq)
        assert await asyncio.to_thread(Path(store.segment_path(segment)).read_bytes) == origin.data(
            "source", seq
        )
    assert temp_files(tmp_path) == []
    assert not (tmp_path / "chan" / "low").exists()


async def test_media_url_records_as_source(origin: Origin, tmp_path: Path) -> None:
    store = SegmentStore(str(tmp_path))
    async with make(origin, tmp_path, url=f"{origin.url}/media/source.m3u8"):
        await until(lambda: len(stored(store, "chan")) >= 12)
    assert {s.quality for s in stored(store, "chan")} == {"source"}


async def test_segment_faults(
    slow_origin: Origin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    origin = slow_origin
    base = origin.published() + 3
    faults = {
        base: "404",
        base + 1: "reset",
        base + 2: "empty",
        base + 3: "stall",
        base + 4: "slow_first",
        base + 5: "500",
    }
    origin.faults.update(faults)
    store = SegmentStore(str(tmp_path))
    async with make(origin, tmp_path, give_up_after=8.0, retry_min=0.5):
        await until(lambda: origin.published() >= base + 12, 60)
        await until(lambda: len(by_start(origin, stored(store, "chan")).get(base + 6, [])) > 0, 60)
        await until(lambda: len(by_start(origin, stored(store, "chan")).get(base + 3, [])) > 0, 60)
    segments = by_start(origin, stored(store, "chan"))
    assert base not in segments  # 404: no file
    assert origin.requests[f"segment:{base}"] == 1  # and no retry
    lost = [r for r in caplog.records if "URL gone" in r.getMessage()]
    assert [r.levelno for r in lost] == [logging.ERROR]  # data lost: an ERROR
    partial = segments[base + 1]
    assert {s.type for s in partial} == {"partial"}
    assert len(partial) == 1  # identical partial bytes are saved once
    half = origin.data("source", base + 1)[: len(origin.data("source", base + 1)) // 2]
    assert await asyncio.to_thread(Path(store.segment_path(partial[0])).read_bytes) == half
    assert [s.type for s in segments[base + 2]] == ["suspect"]  # empty body
    assert segments[base + 2][0].hash == hash_bytes(b"") == EMPTY_HASH
    stalled = segments[base + 3]
    assert [s.type for s in stalled] == ["suspect"]  # took >= 59 s, cut short
    assert stalled[0].hash == hash_bytes(origin.data("source", base + 3)[:5000])
    slow = segments[base + 4]
    assert [s.type for s in slow] == ["full"]  # the parallel attempt won
    assert slow[0].hash == origin.hash("source", base + 4)
    assert base + 5 not in segments  # 500 until given up
    # 500: retried on fresh connections, then given up after 8 s of clock time.
    retries = origin.requests[f"segment:{base + 5}"]
    assert 3 <= retries <= 8
    assert len(set(origin.peers[base + 5])) == retries
    assert [s.type for s in segments[base + 6]] == ["full"]
    assert temp_files(tmp_path) == []


async def test_playlist_404_and_endlist_replace_worker_without_gap(
    origin: Origin, tmp_path: Path
) -> None:
    # A replacement whose first poll still sees the 404 counts as "stream down" and waits the
    # 20 s retry interval (SPEC §6.5): a Twitch-sized window (30 segments) bridges that.
    origin.window = 30
    store = SegmentStore(str(tmp_path))
    async with make(origin, tmp_path):
        await until(lambda: origin.published() >= 14)
        masters = origin.requests["master"]
        origin.playlist_status = 404  # the worker stops and asks for a new master playlist
        await until(lambda: origin.requests["master"] > masters)
        origin.playlist_status = 200
        await until(lambda: origin.published() >= 20)
        masters = origin.requests["master"]
        origin.endlist = True
        await until(lambda: origin.requests["master"] > masters)
        origin.endlist = False
        await until(lambda: origin.published() >= 28)
        # The last worker may be a poll or two behind on a loaded machine: wait (bounded)
        # until it has stored everything published up to now, then check each is full.
        last = origin.published() - 2
        await until(
            lambda: set(range(10, last)) <= set(by_start(origin, stored(store, "chan"))), 30
        )
    segments = by_start(origin, stored(store, "chan"))
    for seq in range(10, last):
        assert [s.type for s in segments[seq]] == ["full"], seq


async def test_fmp4_init_section_is_written_first_and_fetched_once(
    origin: Origin, tmp_path: Path
) -> None:
    """SPEC §3 / §6.13: an EXT-X-MAP variant's init section starts every stored file and is
    part of its hash; the worker fetches it once (its cache is bounded by bytes)."""
    init = b"\x00\x00\x00\x18ftypiso6" + b"moov" * 64
    origin.init_section = init
    store = SegmentStore(str(tmp_path))
    async with make(origin, tmp_path, url=f"{origin.url}/media/source.m3u8"):
        await until(lambda: len(stored(store, "chan")) >= 12)
    for segment in stored(store, "chan"):
        seq = round((segment.start - origin.clock.origin).total_seconds() / origin.duration)
        data = await asyncio.to_thread(Path(store.segment_path(segment)).read_bytes)
        assert data == init + origin.data("source", seq)
        assert segment.hash == hash_bytes(data)
    assert origin.requests["init"] == 1


async def test_a_segment_past_the_byte_cap_is_refused_not_stored(
    origin: Origin, tmp_path: Path
) -> None:
    huge = origin.published() + 3
    origin.faults[huge] = "huge"
    store = SegmentStore(str(tmp_path))
    labels = {"channel": "chan", "quality": "source", "reason": "too_large"}
    before = REGISTRY.get_sample_value("streamvault_segments_given_up_total", labels) or 0.0
    async with make(origin, tmp_path, max_segment_bytes=1 << 20):
        await until(lambda: huge + 3 in by_start(origin, stored(store, "chan")))
    segments = by_start(origin, stored(store, "chan"))
    assert huge not in segments
    assert origin.requests[f"segment:{huge}"] == 1  # refused once, not retried
    assert REGISTRY.get_sample_value("streamvault_segments_given_up_total", labels) == before + 1
    assert temp_files(tmp_path) == []


def test_the_init_section_cache_is_bounded_by_bytes() -> None:
    cache = InitSections(cap=10_000, max_one=5_000)
    for index in range(100):
        cache.put(f"http://cdn/init-{index}.mp4", bytes(2_000))
    assert cache.size <= 10_000 and len(cache) == 5
