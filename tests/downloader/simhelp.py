"""Helpers for the downloader's end-to-end tests against the simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from streamvault.downloader.service import ChannelSpec, Downloader
from streamvault.downloader.settings import Settings
from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment


def sim_config(cache: Path, channels: list[ChannelConfig], **overrides: Any) -> SimConfig:
    config = SimConfig(
        channels=channels,
        segment_duration=2.0,
        time_scale=30.0,
        window=30,
        loop_segments=4,
        cache_dir=str(cache),
    )
    return dataclasses.replace(config, **overrides)


def downloader(
    sim: Simulator,
    base: Path,
    channels: list[str],
    qualities: list[str],
    usher_path: str = "v2",
    **settings: Any,
) -> Downloader:
    specs = [ChannelSpec(c.rstrip("!"), c.endswith("!")) for c in channels]
    # The grace is in clock seconds: at 30-40x, 10 s is a quarter of a real second, too short
    # on a loaded machine for the last segments in flight, which these tests expect stored.
    settings.setdefault("stop_grace", 120.0)
    return Downloader(
        SegmentStore(str(base)),
        specs,
        qualities,
        clock=sim.clock,
        settings=Settings(**settings),
        gql_url=sim.base_url,
        usher_url=sim.base_url,
        usher_path=usher_path,
    )


def stored(base: Path, channel: str, quality: str) -> dict[datetime, list[Segment]]:
    store = SegmentStore(str(base))
    found: dict[datetime, list[Segment]] = {}
    for hour in store.hours(channel, quality):
        for segment in store.segments(channel, quality, hour).segments:
            found.setdefault(segment.start, []).append(segment)
    return found


def temp_files(base: Path) -> list[str]:
    return [name for _, _, names in os.walk(base) for name in names if "-temp-" in name]


async def until(check: Callable[[], bool], seconds: float = 15.0, what: str = "condition") -> None:
    """Wait (real time, bounded) until ``check()``; fail naming ``what`` if it never holds."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not met within {seconds:.0f} s")


async def until_stored(
    base: Path,
    channel: str,
    quality: str,
    published: list[Any],
    allowed_missing: set[int] = frozenset(),  # type: ignore[assignment]
    seconds: float = 60.0,
) -> None:
    """Wait until every non-ad segment of ``published`` (bar ``allowed_missing``) has a file:
    on a loaded machine the recorder may be a few polls behind the sim when a test's sim time
    is up, so a test waits for what it then asserts (``assert_complete``) instead of a fixed
    amount of sim time."""
    wanted = {
        s.program_date_time: s.sequence
        for s in published
        if not s.is_ad and s.sequence not in allowed_missing
    }

    def missing() -> list[int]:
        files = stored(base, channel, quality)
        return sorted(seq for start, seq in wanted.items() if start not in files)

    for _ in range(int(seconds / 0.05)):
        if not missing():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{channel}/{quality}: not stored within {seconds:.0f} s: {missing()}")


async def until_sequence(sim: Simulator, channel: str, sequence: int) -> None:
    """Wait until the sim has published ``sequence`` of ``channel`` (its source quality)."""
    timeline = sim.channel(channel)
    assert timeline is not None
    while True:
        sim.advance()
        if timeline.next_sequence > sequence:
            return
        await asyncio.sleep(0.02)


async def sim_wait(sim: Simulator, seconds: float) -> None:
    """Let ``seconds`` of simulated time pass."""
    await sim.clock.sleep(seconds)


def assert_complete(
    sim: Simulator,
    base: Path,
    channel: str,
    quality: str,
    published: list[Any],
    allowed_missing: set[int] = frozenset(),  # type: ignore[assignment]
    sim_channel: str | None = None,
) -> None:
    """Every non-ad segment published is stored once, full, byte-identical (by hash)."""
    files = stored(base, channel, quality)
    for segment in published:
        if segment.is_ad or segment.sequence in allowed_missing:
            continue
        found = files.get(segment.program_date_time, [])
        assert len(found) == 1, f"{channel}/{quality} seq {segment.sequence}: {found}"
        assert found[0].type == "full", (segment.sequence, found[0])
        assert found[0].hash == segment.data_hash, segment.sequence
        assert found[0].duration == segment.duration
    every = {s.program_date_time: s for s in sim.published(sim_channel or channel, quality)}
    for start, found in files.items():
        assert start in every, f"file for a segment the sim never published: {found}"
        assert not every[start].is_ad, f"ad segment stored: {found}"
        assert len(found) == 1 or every[start].sequence in allowed_missing, found
