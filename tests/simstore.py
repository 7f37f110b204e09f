"""Stores filled with the simulator's real video, written as a downloader writes them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from streamvault.sim.video import LoopSpec, build_segment, render_loop
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment

SEGMENT = 2.0


async def fill(
    base: Path,
    cache: Path,
    channel: str,
    qualities: Iterable[str],
    origin: datetime,
    count: int,
    skip: Iterable[int] = (),
    size: tuple[int, int] = (160, 90),
    loop_segments: int = 4,
) -> list[Segment]:
    """Segments ``0..count-1`` of the simulator's stream from ``origin``, minus ``skip``."""
    loop = await render_loop(LoopSpec(size[0], size[1], 30, SEGMENT, loop_segments), cache)
    store = SegmentStore(str(base))
    skipped = set(skip)
    written = []
    for quality in qualities:
        for sequence in range(count):
            if sequence in skipped:
                continue
            start = origin + timedelta(seconds=sequence * SEGMENT)
            data = build_segment(loop, channel, quality, sequence)
            written.append(store.write_segment(channel, quality, start, SEGMENT, "full", data))
    return written
