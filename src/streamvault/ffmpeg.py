"""Where the ffmpeg binary comes from: ``PATH`` first, else the one the imageio-ffmpeg wheel
ships, so ``pip install`` alone gives working cuts and a working simulator (SPEC §7)."""

from __future__ import annotations

import functools
import os
import shutil


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
