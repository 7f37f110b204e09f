"""What a quality's video is, read from one of its segments once and remembered (SPEC §5):
the resolution, frame rate and codecs a master playlist gives players to choose by.

The size and frame rate come from ffmpeg's description of its input (``ffmpeg -i``, from
:func:`~streamvault.ffmpeg.ffmpeg_exe`: there is no ffprobe beside the ffmpeg the wheel ships,
and ffmpeg has no machine-readable form of it, so its stream line is read with two patterns);
the ``CODECS`` string needs the H.264 profile and level bytes that ffmpeg does not print, so
they are read from the segment's sequence parameter set (:mod:`streamvault.hls.codecs`).
Synchronous: called in a worker thread.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading

from ..ffmpeg import ffmpeg_exe
from ..hls.codecs import avc1, mp4a
from ..mpegts import elementary_head, inspect
from .render import VideoInfo

log = logging.getLogger(__name__)

#: Bytes of a segment read for its codecs (the parameter sets lead the first key frame).
HEAD = 256 * 1024
PROBE_TIMEOUT = 10.0
_VIDEO_LINE = re.compile(r"Stream #\S+.*?: Video: .*")
_SIZE = re.compile(r"(?<![0-9x])(\d{2,5})x(\d{2,5})(?![0-9x])")
_RATE = re.compile(r"(\d+(?:\.\d+)?) (?:fps|tbr)")
#: Streams whose description is remembered; past this the oldest are forgotten.
REMEMBERED = 4096


def codecs_of(head: bytes) -> tuple[str, ...]:
    """The RFC 6381 codecs of an MPEG-TS segment's first bytes (video first)."""
    info = inspect(head)
    found = []
    if info.video_pid is not None and (video := avc1(elementary_head(head, info.video_pid))):
        found.append(video)
    if info.audio_pid is not None and (audio := mp4a(elementary_head(head, info.audio_pid))):
        found.append(audio)
    return tuple(found)


def describe(text: str) -> tuple[tuple[int, int] | None, float | None]:
    """The size and frame rate on the first video stream line of ffmpeg's input description."""
    line = _VIDEO_LINE.search(text)
    if line is None:
        return None, None
    size = _SIZE.search(line.group(0))
    rate = _RATE.search(line.group(0))
    resolution = (int(size.group(1)), int(size.group(2))) if size else None
    return resolution, float(rate.group(1)) if rate else None


def probe(path: str) -> VideoInfo:
    """Describe the video of one segment file; as much as could be read."""
    with open(path, "rb") as file:
        codecs = codecs_of(file.read(HEAD))
    try:
        done = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
            capture_output=True,
            timeout=PROBE_TIMEOUT,
        )  # no output file: ffmpeg describes its input, then exits 1
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("could not read the video of %s: %s", path, err)
        return VideoInfo(codecs=codecs)
    resolution, frame_rate = describe(done.stderr.decode(errors="replace"))
    return VideoInfo(resolution, frame_rate, codecs)


class VideoInfos:
    """Each stream's :class:`VideoInfo`, probed once (thread-safe, bounded)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], VideoInfo] = {}
        self._lock = threading.Lock()

    def get(self, channel: str, quality: str, path: str) -> VideoInfo:
        key = (channel, quality)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        info = probe(path)
        if info.resolution is None:
            return info  # asked again next time: the next segment may read better
        with self._lock:
            if len(self._known) >= REMEMBERED:
                self._known.pop(next(iter(self._known)))
            self._known[key] = info
        return info
