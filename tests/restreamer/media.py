"""Real MPEG-TS test segments, rendered once per test session with ffmpeg, and stores of them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from streamvault.ffmpeg import ffmpeg_exe
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment

#: The first segment starts 30 s before an hour boundary, so ranges cross hour directories.
T0 = datetime(2026, 11, 28, 3, 59, 30, tzinfo=UTC)
SEGMENT_SECONDS = 2.0
COUNT = 20


def render_segments(directory: str, count: int = COUNT) -> list[bytes]:
    """``count`` two-second 160x90 H.264/AAC MPEG-TS segments with continuous timestamps."""
    os.makedirs(directory, exist_ok=True)
    pattern = os.path.join(directory, "seg%03d.ts")
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=size=160x90:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", str(count * SEGMENT_SECONDS),
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-sc_threshold", "0",
            "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
            "-c:a", "aac", "-b:a", "32k",
            "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-segment_format", "mpegts",
            "-reset_timestamps", "0", pattern,
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    names = sorted(name for name in os.listdir(directory) if name.startswith("seg"))
    assert len(names) == count, names
    datas = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as file:
            datas.append(file.read())
    return datas


def start_of(index: float, origin: datetime = T0) -> datetime:
    return origin + timedelta(seconds=index * SEGMENT_SECONDS)


def populate(
    store: SegmentStore,
    channel: str,
    quality: str,
    datas: list[bytes],
    skip: Iterable[int] = (),
    origin: datetime = T0,
    type: str = "full",
) -> list[Segment]:
    """Write the segments (except the ``skip`` indexes) as a downloader would; return them."""
    skipped = set(skip)
    written = []
    for index, data in enumerate(datas):
        if index in skipped:
            continue
        start = start_of(index, origin)
        written.append(store.write_segment(channel, quality, start, SEGMENT_SECONDS, type, data))
    return written
