"""Real MPEG-TS video for the simulator: a loop rendered once with ffmpeg, cached on disk.

A loop of ``segments`` pieces (test pattern with a running counter, and a tone) is rendered
once per (size, frame rate, segment duration, loop length) into the cache directory. Segment
``k`` is piece ``k % N`` with its timestamps moved by ``(k // N)`` loop lengths, its
continuity counters carried on from segment ``k - 1``, a null packet naming (channel,
quality, k) appended, and optional null-packet padding up to a target size; so consecutive
segments play as one continuous stream, all qualities share the same timestamps, and a
segment's bytes depend only on (channel, quality, sequence).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..ffmpeg import ffmpeg_exe
from ..mpegts import (
    PACKET_SIZE,
    TICKS_PER_SECOND,
    null_packet,
    padding,
    payload_counts,
    renumber_continuity,
    shift_timestamps,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

AUDIO_RATE = 64_000  # 1024-sample AAC frames of 16 ms: a whole number per 2 s segment
AUDIO_FRAME = 1024
CACHE_VERSION = 1  # bump when the rendering changes


@dataclass(frozen=True, slots=True)
class LoopSpec:
    width: int
    height: int
    fps: int
    segment_duration: float
    segments: int

    @property
    def frames_per_segment(self) -> int:
        return max(1, round(self.fps * self.segment_duration))

    @property
    def loop_seconds(self) -> float:
        return self.segments * self.segment_duration

    @property
    def loop_ticks(self) -> int:
        return round(self.loop_seconds * TICKS_PER_SECOND)

    @property
    def audio_frames(self) -> int:
        return round(self.loop_seconds * AUDIO_RATE / AUDIO_FRAME)

    @property
    def key(self) -> str:
        return (
            f"v{CACHE_VERSION}-{self.width}x{self.height}-{self.fps}fps"
            f"-{self.segment_duration:g}s-{self.segments}"
        )


@dataclass(frozen=True, slots=True)
class Loop:
    """The rendered pieces, with per-PID payload packet counts: ``offsets[i]`` counts the
    packets before piece ``i``, ``totals`` those of the whole loop (for continuity counters)."""

    spec: LoopSpec
    pieces: tuple[bytes, ...]
    offsets: tuple[dict[int, int], ...]
    totals: dict[int, int]

    @classmethod
    def from_pieces(cls, spec: LoopSpec, pieces: tuple[bytes, ...]) -> Loop:
        offsets: list[dict[int, int]] = []
        running: dict[int, int] = {}
        for piece in pieces:
            offsets.append(dict(running))
            for pid, count in payload_counts(piece).items():
                running[pid] = running.get(pid, 0) + count
        return cls(spec, pieces, tuple(offsets), running)

    def first_counters(self, sequence: int) -> dict[int, int]:
        """Continuity counters at the start of segment ``sequence`` of the endless stream."""
        laps, index = divmod(sequence, len(self.pieces))
        offsets = self.offsets[index]
        return {
            pid: (laps * total + offsets.get(pid, 0)) % 16 for pid, total in self.totals.items()
        }


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "streamvault-sim"


def render_command(ffmpeg: str, spec: LoopSpec, out_dir: Path) -> list[str]:
    """The ffmpeg command that writes the loop's pieces as ``out_dir/piece%04d.ts``.

    The AAC encoder emits one priming frame more than it is fed, so the tone is one frame
    short: the loop then holds exactly ``audio_frames`` frames and wraps without a gap or an
    overlap. (Limiting with ``-frames:a`` instead makes ffmpeg drop the last video frame.)
    """
    frames = spec.frames_per_segment * spec.segments
    tone_seconds = (spec.audio_frames - 1) * AUDIO_FRAME / AUDIO_RATE
    tone = (
        f"sine=frequency=440:sample_rate={AUDIO_RATE}:samples_per_frame={AUDIO_FRAME}"
        f":duration={tone_seconds:.6f}"
    )
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc=size={spec.width}x{spec.height}:rate={spec.fps}",
        "-f", "lavfi", "-i", tone,
        "-map", "0:v", "-map", "1:a",
        "-frames:v", str(frames),
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", str(spec.frames_per_segment), "-keyint_min", str(spec.frames_per_segment),
        "-sc_threshold", "0", "-bf", "0", "-threads", "1",
        "-c:a", "aac", "-b:a", "64k", "-ac", "1",
        "-f", "segment", "-segment_time", f"{spec.segment_duration:g}",
        "-segment_format", "mpegts", str(out_dir / "piece%04d.ts"),
    ]  # fmt: skip


def _load(directory: Path, spec: LoopSpec) -> Loop | None:
    paths = sorted(directory.glob("piece*.ts"))
    if len(paths) != spec.segments:
        return None
    return Loop.from_pieces(spec, tuple(path.read_bytes() for path in paths))


async def render_loop(spec: LoopSpec, cache_dir: Path | None = None) -> Loop:
    """The loop for ``spec``, from the cache or rendered now (atomically, safe across processes)."""
    root = cache_dir or default_cache_dir()
    return await render_cached(
        root / spec.key,
        lambda work: render_command(ffmpeg_exe(), spec, work),
        lambda directory: _load(directory, spec),
        spec.key,
    )


def _scratch_dir(parent: Path) -> str:
    parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix="render-", dir=parent)


async def render_cached(
    final: Path,
    command: Callable[[Path], list[str]],
    load: Callable[[Path], T | None],
    what: str,
) -> T:
    """What ``load`` finds in ``final``, or run ``command`` in a scratch directory beside it,
    load that and rename it to ``final`` (another process may win the race: same files)."""
    found = await asyncio.to_thread(lambda: load(final) if final.is_dir() else None)
    if found is not None:
        return found
    work = Path(await asyncio.to_thread(_scratch_dir, final.parent))
    try:
        process = await asyncio.create_subprocess_exec(
            *command(work),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"ffmpeg failed rendering {what}: {stderr.decode()[-500:]}")
        loaded = await asyncio.to_thread(load, work)
        if loaded is None:
            raise RuntimeError(f"ffmpeg rendered the wrong number of pieces for {what}")
        try:
            await asyncio.to_thread(work.rename, final)
        except OSError:
            pass  # another process won the race; its files are identical in every way we use
        log.info("rendered simulator video loop %s", what)
        return loaded
    finally:
        shutil.rmtree(work, ignore_errors=True)


def segment_label(channel: str, quality: str, sequence: int) -> bytes:
    """The payload of the null packet that makes each (channel, quality, sequence) distinct."""
    label = f"streamvault-sim seq={sequence} quality={quality} channel={channel}"
    return label.encode("utf-8")[: PACKET_SIZE - 4]


def build_segment(
    loop: Loop, channel: str, quality: str, sequence: int, target_size: int = 0
) -> bytes:
    """The bytes of segment ``sequence``: a loop piece, time-shifted, labelled, padded."""
    if sequence < 0:
        raise ValueError("sequence numbers start at 0")
    count = len(loop.pieces)
    piece = loop.pieces[sequence % count]
    data = shift_timestamps(piece, (sequence // count) * loop.spec.loop_ticks)
    data = renumber_continuity(data, loop.first_counters(sequence))
    data += null_packet(segment_label(channel, quality, sequence))
    if target_size > len(data):
        data += padding(target_size - len(data))
    return data
