"""Where the ffmpeg binary comes from: ``PATH`` first, else the one the imageio-ffmpeg wheel
ships, so ``pip install`` alone gives working cuts and a working simulator (SPEC §7)."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
from collections.abc import Sequence


@functools.cache
def ffmpeg_exe() -> str:
    configured = os.environ.get("STREAMVAULT_FFMPEG")
    if configured:
        return configured
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


async def start_ffmpeg(args: Sequence[str]) -> asyncio.subprocess.Process:
    """ffmpeg with ``args``: no banner, no stdin, only errors logged; stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def last_line(stderr: bytes) -> str:
    """What ffmpeg said last on stderr (its error), or an empty string."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""
