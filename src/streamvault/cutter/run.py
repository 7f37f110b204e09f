"""Running a cut: ffmpeg processes whose output streams while they run (SPEC §7).

Every function here is an async generator of output bytes. Closing it early (the client went
away) kills the ffmpeg process it is running; nothing is left behind, temp files included.

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

from prometheus_client import Counter, Gauge

from ..errors import StreamvaultError
from ..ffmpeg import ffmpeg_exe
from ..store.naming import Segment
from .plan import Copy, CutPlan, CutType, Encode, Run, run_pieces
from .ts import TsInfo, inspect

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
#: exactly where asked), AAC, MPEG-TS with no added mux delay.
EDGE_CODECS = ["-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-c:a", "aac"]
TS_OUT = ["-f", "mpegts", "-muxdelay", "0", "-muxpreload", "0"]
MAP = ["-map", "0:v?", "-map", "0:a?"]

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


class CutFailed(StreamvaultError):
    """ffmpeg could not produce the cut."""


def running_pids() -> frozenset[int]:
    """Process ids of the cut ffmpeg processes running now."""
    return frozenset(_running)


def _seconds(value: float) -> str:
    return f"{value:.6f}"


async def ffmpeg_stream(args: Sequence[str]) -> AsyncGenerator[bytes, None]:
    """Run ffmpeg writing to stdout and yield its output; killed if closed early."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
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
            message = (await errors).decode(errors="replace").strip().splitlines()
            raise CutFailed(f"ffmpeg exited with {code}: {message[-1] if message else ''}")
    finally:
        if proc.returncode is None:
            proc.kill()
            ffmpeg_killed.inc()
            log.info("killed ffmpeg %d: its output is no longer wanted", proc.pid)
            await proc.wait()
        errors.cancel()
        _running.discard(proc.pid)
        ffmpeg_running.dec()


async def ffmpeg_to_file(args: Sequence[str], path: str) -> None:
    """Run ffmpeg writing ``path``; killed if cancelled."""
    async with aclosing(ffmpeg_stream([*args, "-y", path])) as output:
        async for _ in output:
            pass


async def read_file(path: str, offset: int = 0) -> AsyncGenerator[bytes, None]:
    with open(path, "rb") as file:
        file.seek(offset)
        while chunk := await asyncio.to_thread(file.read, 1024 * 1024):
            yield chunk


async def _inspect(path: str) -> TsInfo:
    def read() -> bytes:
        with open(path, "rb") as file:
            return file.read(HEAD)

    return inspect(await asyncio.to_thread(read))


def _edge_args(piece: Encode, path: str) -> list[str]:
    args = ["-i", path, *MAP, "-ss", _seconds(piece.offset)]
    if piece.duration is not None:
        args += ["-t", _seconds(piece.duration)]
    return args + EDGE_CODECS


async def rough(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    for segment in plan.segments:
        async with aclosing(read_file(path_of(segment))) as chunks:
            async for chunk in chunks:
                yield chunk


async def fast(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
    for run in plan.runs:
        for piece in run_pieces(run):
            path = path_of(piece.segment)
            if isinstance(piece, Copy):
                source = read_file(path)
            else:
                info = await _inspect(path)
                start = (info.start or 0.0) + piece.offset
                args = [*_edge_args(piece, path), "-output_ts_offset", _seconds(start)]
                source = ffmpeg_stream([*args, *TS_OUT, "pipe:1"])
            async with aclosing(source) as chunks:
                async for chunk in chunks:
                    yield chunk


def _concat_line(path: str) -> str:
    return "file '" + ("file:" + os.path.abspath(path)).replace("'", "'\\''") + "'"


def _write_list(path: str, files: Sequence[str]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("ffconcat version 1.0\n")
        out.writelines(_concat_line(name) + "\n" for name in files)


async def smart(plan: CutPlan, path_of: PathOf) -> AsyncGenerator[bytes, None]:
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
            await ffmpeg_to_file([*_edge_args(piece, path_of(piece.segment)), *TS_OUT], edge)
        listing = os.path.join(workdir, "list.txt")
        _write_list(listing, files)
        args = ["-f", "concat", "-safe", "0", "-i", listing, *MAP, "-c", "copy", *TS_OUT]
        async with aclosing(ffmpeg_stream([*args, "pipe:1"])) as chunks:
            async for chunk in chunks:
                yield chunk
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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


async def full(plan: CutPlan, path_of: PathOf, format: str) -> AsyncGenerator[bytes, None]:
    workdir = tempfile.mkdtemp(prefix="streamvault-cut-")
    try:
        info = await _inspect(path_of(plan.runs[0].segments[0]))
        inputs: list[str] = []
        for index, run in enumerate(plan.runs):
            listing = os.path.join(workdir, f"list{index}.txt")
            _write_list(listing, [path_of(segment) for segment in run.segments])
            inputs += ["-f", "concat", "-safe", "0", "-i", listing]
        graph, maps = _full_filter(plan.runs, info.has_audio)
        args = [*inputs, "-filter_complex", graph, *maps, *FULL_OUTPUT[format], "pipe:1"]
        async with aclosing(ffmpeg_stream(args)) as chunks:
            async for chunk in chunks:
                yield chunk
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
