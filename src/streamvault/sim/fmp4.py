"""Real fragmented-MP4 video for the simulator's fMP4 channels (Twitch's HEVC/AV1 "enhanced
broadcasting" variants carry ``#EXT-X-MAP``): one loop rendered with ffmpeg's HLS muxer into an
init section (``ftyp`` + ``moov``) and one fragment per segment, cached like the MPEG-TS loop.

Fragment ``k`` is piece ``k % N`` with its decode times (``tfdt``, and the ``sidx`` earliest
presentation time) moved on by ``k // N`` loop lengths, so consecutive fragments play as one
stream, and a ``free`` box naming (channel, quality, k) appended so each is distinct. The box
editing below is pure; only :func:`render_fmp4_loop` runs ffmpeg.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..ffmpeg import ffmpeg_exe
from .video import LoopSpec, default_cache_dir, render_cached, render_command, segment_label

CONTAINERS = {b"moov", b"trak", b"mdia", b"moof", b"traf"}


def boxes(
    data: bytes | bytearray, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each box in ``data[start:end]`` (32-bit sizes, as ffmpeg writes)."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8 or offset + size > end:
            raise ValueError(f"bad MP4 box at {offset}")
        yield kind, offset, size
        offset += size


def track_timescales(init: bytes) -> dict[int, int]:
    """Track ID -> media timescale, from an init section's ``moov``."""
    scales: dict[int, int] = {}
    for kind, offset, size in boxes(init):
        if kind != b"moov":
            continue
        for trak, t_offset, t_size in boxes(init, offset + 8, offset + size):
            if trak != b"trak":
                continue
            track, scale = 0, 0
            for child, c_offset, c_size in boxes(init, t_offset + 8, t_offset + t_size):
                if child == b"tkhd":
                    version = init[c_offset + 8]
                    track = struct.unpack_from(">I", init, c_offset + (28 if version else 20))[0]
                elif child == b"mdia":
                    for leaf, l_offset, _ in boxes(init, c_offset + 8, c_offset + c_size):
                        if leaf == b"mdhd":
                            version = init[l_offset + 8]
                            at = l_offset + (28 if version else 20)
                            scale = struct.unpack_from(">I", init, at)[0]
            scales[track] = scale
    return scales


def shift_fragment(fragment: bytes, seconds: float, scales: dict[int, int]) -> bytes:
    """The fragment with every decode/presentation time moved on by ``seconds``."""
    data = bytearray(fragment)
    for kind, offset, size in boxes(data):
        if kind == b"sidx":
            version = data[offset + 8]
            timescale = struct.unpack_from(">I", data, offset + 16)[0]
            _add(data, offset + 20, version, round(seconds * timescale))
        elif kind == b"moof":
            for traf, t_offset, t_size in boxes(data, offset + 8, offset + size):
                if traf == b"traf":
                    _shift_traf(data, t_offset, t_size, seconds, scales)
    return bytes(data)


def _shift_traf(
    data: bytearray, offset: int, size: int, seconds: float, scales: dict[int, int]
) -> None:
    track = 0
    for kind, c_offset, _ in boxes(data, offset + 8, offset + size):
        if kind == b"tfhd":
            track = struct.unpack_from(">I", data, c_offset + 12)[0]
        elif kind == b"tfdt":
            _add(data, c_offset + 12, data[c_offset + 8], round(seconds * scales.get(track, 0)))


def _add(data: bytearray, at: int, version: int, delta: int) -> None:
    form = ">Q" if version == 1 else ">I"
    (value,) = struct.unpack_from(form, data, at)
    limit = 1 << (64 if version == 1 else 32)
    struct.pack_into(form, data, at, (value + delta) % limit)


def free_box(payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), b"free") + payload


@dataclass(frozen=True, slots=True)
class Fmp4Loop:
    spec: LoopSpec
    init: bytes
    pieces: tuple[bytes, ...]
    scales: dict[int, int]


def build_fragment(loop: Fmp4Loop, channel: str, quality: str, sequence: int) -> bytes:
    """The bytes of fMP4 segment ``sequence`` (without the init section)."""
    if sequence < 0:
        raise ValueError("sequence numbers start at 0")
    laps, index = divmod(sequence, len(loop.pieces))
    data = shift_fragment(loop.pieces[index], laps * loop.spec.loop_seconds, loop.scales)
    return data + free_box(segment_label(channel, quality, sequence))


def fmp4_command(ffmpeg: str, spec: LoopSpec, out_dir: Path) -> list[str]:
    """The MPEG-TS loop's command with ffmpeg's HLS muxer writing fMP4 instead."""
    command = render_command(ffmpeg, spec, out_dir)
    command = command[: command.index("-f", command.index("-c:a"))]
    return [
        *command,
        "-f", "hls", "-hls_time", f"{spec.segment_duration:g}", "-hls_segment_type", "fmp4",
        "-hls_fmp4_init_filename", "init.mp4", "-hls_list_size", "0",
        "-hls_playlist_type", "vod", "-hls_segment_filename", str(out_dir / "piece%04d.m4s"),
        str(out_dir / "index.m3u8"),
    ]  # fmt: skip


def _load(directory: Path, spec: LoopSpec) -> Fmp4Loop | None:
    paths = sorted(directory.glob("piece*.m4s"))
    init = directory / "init.mp4"
    if len(paths) != spec.segments or not init.exists():
        return None
    data = init.read_bytes()
    return Fmp4Loop(spec, data, tuple(p.read_bytes() for p in paths), track_timescales(data))


async def render_fmp4_loop(spec: LoopSpec, cache_dir: Path | None = None) -> Fmp4Loop:
    """The fMP4 loop for ``spec``, from the cache or rendered now (atomically)."""
    root = cache_dir or default_cache_dir()
    return await render_cached(
        root / f"{spec.key}-fmp4",
        lambda work: fmp4_command(ffmpeg_exe(), spec, work),
        lambda directory: _load(directory, spec),
        f"{spec.key}-fmp4",
    )
