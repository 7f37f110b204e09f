"""Running a cut: ffmpeg processes whose output streams while they run (SPEC §7).

Every function here is an async generator of output bytes, except :func:`render_file`, which
writes a complete file (for browsers: seekable, with its true duration). Closing a generator
early, or cancelling a render (the client went away), kills the ffmpeg process it is running;
nothing is left behind, temp files included.

- ``rough``: the segments' bytes, concatenated;
- ``fast``: the first and last segment of each run re-encoded and trimmed exactly, their
  timestamps put back where the original ones were; the rest copied byte for byte;
- ``smart``: the same pieces, joined by ffmpeg's concat demuxer so the timestamps of the whole
  output are continuous and monotonic;
- ``mpegts`` / ``mp4`` / ``webm``: everything decoded, trimmed and re-encoded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import BinaryIO

from prometheus_client import Counter, Gauge

from ..errors import CutFailed
from ..ffmpeg import last_line, start_ffmpeg
from ..mpegts import TsInfo, continuous, inspect
from ..store.naming import Segment
from .plan import Copy, CutPlan, CutType, Encode, Run, run_pieces

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
HEAD = 64 * 1024

ffmpeg_running = Gauge("streamvault_cut_ffmpeg_running", "ffmpeg processes running for cuts")
ffmpeg_killed = Counter(
    "streamvault_cut_ffmpeg_killed_total", "ffmpeg processes killed before they finished"
)
ffmpeg_failed = Counter("streamvault_cut_ffmpeg_failed_total", "ffmpeg processes that failed")

_running: set[int] = set()

PathOf = Callable[[Segment], str]

#: Re-encoded edges of fast and smart cuts: H.264 without B-frames (timestamps then start
#: exactly where asked), quick and at high quality as they last a few seconds; audio copied
#: (no encoder delay, so it joins the copied segments exactly); MPEG-TS with no mux delay.
EDGE_CODECS = [
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-bf", "0", "-c:a", "copy",
]  # fmt: skip
TS_OUT = ["-f", "mpegts", "-muxdelay", "0", "-muxpreload", "0"]
MAP = ["-map", "0:v?", "-map", "0:a?"]
#: Bytes read from the start of a segment to find its first video timestamp.
PROBE = 16 * 1024

FULL_OUTPUT: dict[str, list[str]] = {
    "mpegts": ["-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", *TS_OUT],
    "mp4": [
        "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac",
        "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4",
    ],
    "webm": [
        "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M",
        "-c:a", "libopus", "-f", "webm",
    ],
}  # fmt: skip
#: A full re-encode written to a file rather than a pipe: mp4 as one movie with its index first
#: (not fragments), webm with its duration and cues, for browsers to seek in.
FILE_OUTPUT: dict[str, list[str]] = {
    "mp4": [*FULL_OUTPUT["mp4"][:6], "-movflags", "+faststart", "-f", "mp4"],
    "webm": FULL_OUTPUT["webm"],
}


def running_pids() -> frozenset[int]:
    """Process ids of the cut ffmpeg processes running now."""
    return frozenset(_running)


def _seconds(value: float) -> str:
    return f"{value:.6f}"


async def ffmpeg_stream(args: Sequence[str]) -> AsyncGenerator[bytes, None]:
    """Run ffmpeg writing to stdout and yield its output; killed if closed early."""
    proc = await start_ffmpeg(args)
    assert proc.stdout is not None and proc.stderr is not None
    _running.add(proc.pid)
    ffmpeg_running.inc()
    errors = asyncio.ensure_future(proc.stderr.read())
    try:
        while chunk := await proc.stdout.read(CHUNK):
            yield chunk
        code = await proc.wait()
        if code != 0:
            ffmpeg_failed.inc()
            raise CutFailed(f"ffmpeg exited with {code}: {last_line(await errors)}")
    finally:
        if proc.returncode is None:
            proc.kill()
            ffmpeg_killed.inc()
            log.info("killed ffmpeg %d: its output is no longer wanted", proc.pid)
            await proc.wait()
        errors.cancel()
        _running.discard(proc.pid)
        ffmpeg_running.dec()


def _open_at(path: str, offset: int) -> BinaryIO:
    file = open(path, "rb")  # noqa: SIM115 - closed by read_file
    file.seek(offset)
    return file


async def read_file(path: str, offset: int = 0) -> AsyncGenerator[bytes, None]:
    """The bytes of ``path`` from ``offset``, a megabyte at a time, read in a worker thread."""
    file = await asyncio.to_thread(_open_at, path, offset)
    try:
        while chunk := await asyncio.to_thread(file.read, 1024 * 1024):
            yield chunk
    finally:
        file.close()


def _head(path: str, size: int = HEAD) -> bytes:
    with open(path, "rb") as file:
        return file.read(size)


async def _inspect(path: str) -> TsInfo:
    return inspect(await asyncio.to_thread(_head, path))


def _mux_args(info: TsInfo) -> list[str]:
    """Mux an edge with the source's PIDs and program, so its bytes join the copied ones."""
    args = []
    if info.video_pid is not None:
        args += ["-streamid", f"0:{info.video_pid}"]
    if info.audio_pid is not None and info.has_audio:
        args += ["-streamid", f"1:{info.audio_pid}"]
    if info.pmt_pid is not None:
        args += ["-mpegts_pmt_start_pid", str(info.pmt_pid)]
    if info.program is not None:
        args += ["-mpegts_service_id", str(info.program)]
    return args


async def encode_edge(piece: Encode, path: str) -> bytes:
    """A segment's trimmed part, re-encoded with the timestamps it had in the source."""
    info = await _inspect(path)
    start = (info.start or 0.0) + piece.offset
    args = ["-i", path, *MAP, "-ss", _seconds(piece.offset)]
    if piece.duration is not None:
        args += ["-t", _seconds(piece.duration)]
    args += [*EDGE_CODECS, "-output_ts_offset", _seconds(start), *_mux_args(info), *TS_OUT]
    chunks = []
    async with aclosing(ffmpeg_stream([*args, "pipe:1"])) as output:
        async for chunk in output:
            chunks.append(chunk)
    return b"".join(chunks)


#: A part of a fast cut: encoded bytes, or the path of a segment copied as it is.
Part = bytes | str


async def fast_parts(plan: CutPlan, path_of: PathOf) -> list[Part]:
    """Encode the edges of every run (two at a time); the rest are file paths to copy.

    Knowing every part first gives the length of the output, so a server can send the copied
    segments with ``sendfile``.
    """
    pieces = [piece for run in plan.runs for piece in run_pieces(run)]
    edges = [piece for piece in pieces if isinstance(piece, Encode)]
    limit = asyncio.Semaphore(2)

    async def encode(piece: Encode) -> bytes:
        async with limit:
            return await encode_edge(piece, path_of(piece.segment))

    encoded = iter(await asyncio.gather(*(encode(edge) for edge in edges)))
    return [path_of(p.segment) if isinstance(p, Copy) else next(encoded) for p in pieces]


def _continuous_run(plan: CutPlan, path_of: PathOf) -> bool:
    if len(plan.runs) != 1:
        return False
    segments = plan.runs[0].segments
    starts = [inspect(_head(path_of(segment), PROBE)).video_start for segment in segments]
    return continuous(starts, [segment.duration for segment in segments])


async def smart_parts(plan: CutPlan, path_of: PathOf) -> list[Part] | None:
    """The parts of a smart cut when a fast cut is already continuous, else None.

    That is the case for one run whose segments' timestamps follow on from each other (one
    recording without restarts): its edges are re-encoded with their original timestamps.
    Several runs, or timestamps that jump, need :func:`smart_remux`.
    """
    if not await asyncio.to_thread(_continuous_run, plan, path_of):
        return None
    return await fast_parts(plan, path_of)


async def stream_parts(parts: Sequence[Part]) -> AsyncGenerator[bytes, None]:
    for part in parts:
        if isinstance(part, bytes):
            yield part
            continue
        async with aclosing(read_file(part)) as chunks:
            async for chunk in chunks:
                yield chunk


async def rough(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    async with aclosing(stream_parts([path_of(segment) for segment in plan.segments])) as chunks:
        async for chunk in chunks:
            yield chunk


async def fast(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    async with aclosing(stream_parts(await fast_parts(plan, path_of))) as chunks:
        async for chunk in chunks:
            yield chunk


def _concat_line(path: str) -> str:
    return "file '" + ("file:" + os.path.abspath(path)).replace("'", "'\\''") + "'"


def write_concat_list(path: str, files: Sequence[str]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("ffconcat version 1.0\n")
        out.writelines(_concat_line(name) + "\n" for name in files)


async def smart(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    parts = await smart_parts(plan, path_of)
    source = stream_parts(parts) if parts is not None else smart_remux(plan, path_of)
    async with aclosing(source) as chunks:
        async for chunk in chunks:
            yield chunk


async def smart_remux(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    """Edges re-encoded to files, then everything joined by ffmpeg's concat demuxer, which
    rewrites the timestamps of each file to follow on from the one before."""
    workdir = tempfile.mkdtemp(prefix="streamvault-cut-")
    try:
        files: list[str] = []
        edges: list[tuple[Encode, str]] = []
        for run in plan.runs:
            for piece in run_pieces(run):
                if isinstance(piece, Copy):
                    files.append(path_of(piece.segment))
                else:
                    edge = os.path.join(workdir, f"edge{len(edges)}.ts")
                    edges.append((piece, edge))
                    files.append(edge)
        for piece, edge in edges:  # one at a time: each is short, and cores are shared
            data = await encode_edge(piece, path_of(piece.segment))
            await asyncio.to_thread(_write_bytes, edge, data)
        listing = os.path.join(workdir, "list.txt")
        write_concat_list(listing, files)
        args = ["-f", "concat", "-safe", "0", "-i", listing, *MAP, "-c", "copy", *TS_OUT]
        async with aclosing(ffmpeg_stream([*args, "pipe:1"])) as chunks:
            async for chunk in chunks:
                yield chunk
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


def _full_filter(runs: Sequence[Run], audio: bool) -> tuple[str, list[str]]:
    """A filter graph trimming every run exactly and joining them; and the output maps."""
    parts = []
    labels = []
    for index, run in enumerate(runs):
        trim = f"start={_seconds(run.offset)}:duration={_seconds(run.duration)}"
        parts.append(f"[{index}:v]trim={trim},setpts=PTS-STARTPTS[v{index}]")
        labels.append(f"[v{index}]")
        if audio:
            parts.append(f"[{index}:a]atrim={trim},asetpts=PTS-STARTPTS[a{index}]")
            labels.append(f"[a{index}]")
    join = f"concat=n={len(runs)}:v=1:a={1 if audio else 0}[v]" + ("[a]" if audio else "")
    parts.append("".join(labels) + join)
    maps = ["-map", "[v]"] + (["-map", "[a]"] if audio else [])
    return ";".join(parts), maps


def _full_args(
    plan: CutPlan, path_of: PathOf, format: str, workdir: str, to_file: bool = False
) -> list[str]:
    info = inspect(_head(path_of(plan.runs[0].segments[0])))
    inputs: list[str] = []
    for index, run in enumerate(plan.runs):
        listing = os.path.join(workdir, f"list{index}.txt")
        write_concat_list(listing, [path_of(segment) for segment in run.segments])
        inputs += ["-f", "concat", "-safe", "0", "-i", listing]
    graph, maps = _full_filter(plan.runs, info.has_audio)
    output = FILE_OUTPUT[format] if to_file else FULL_OUTPUT[format]
    return [*inputs, "-filter_complex", graph, *maps, *output]


async def full(plan: CutPlan, path_of: PathOf, format: str) -> AsyncGenerator[bytes, None]:
    workdir = tempfile.mkdtemp(prefix="streamvault-cut-")
    try:
        args = await asyncio.to_thread(_full_args, plan, path_of, format, workdir)
        async with aclosing(ffmpeg_stream([*args, "pipe:1"])) as chunks:
            async for chunk in chunks:
                yield chunk
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def render_file(plan: CutPlan, path_of: PathOf, format: str, output: str) -> None:
    """A full re-encode written to ``output``, a complete file: written where it can seek, the
    muxer puts the true duration in it, and mp4 its index first (``+faststart``) so a browser
    plays and seeks it before it has all of it. Cancelling kills ffmpeg."""
    if not plan.runs:
        raise CutFailed("nothing to cut: the ranges hold no video")
    workdir = tempfile.mkdtemp(prefix="streamvault-cut-")
    try:
        args = await asyncio.to_thread(_full_args, plan, path_of, format, workdir, True)
        async with aclosing(ffmpeg_stream([*args, "-y", output])) as chunks:
            async for _ in chunks:
                pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def cut(plan: CutPlan, type: CutType, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    """The output of a cut of ``type``, as it is produced."""
    if not plan.runs:
        raise CutFailed("nothing to cut: the ranges hold no video")
    if type == "rough":
        return rough(plan, path_of)
    if type == "fast":
        return fast(plan, path_of)
    if type == "smart":
        return smart(plan, path_of)
    return full(plan, path_of, type)
