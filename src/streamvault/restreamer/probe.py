"""What a quality's video is, read from one of its segments once and remembered (SPEC §5):
the resolution, frame rate and codecs a master playlist gives players to choose by.

The size and frame rate come from ffmpeg (through imageio-ffmpeg's reader, which parses
ffmpeg's description of its input); the ``CODECS`` string needs the H.264 profile and level
bytes that ffmpeg does not print, so they are read from the segment's sequence parameter set
(:mod:`streamvault.hls.codecs`). Synchronous: called in a worker thread.
"""

from __future__ import annotations

import logging
import threading

from ..cutter.ts import elementary_head, inspect
from ..hls.codecs import avc1, mp4a
from .render import VideoInfo

log = logging.getLogger(__name__)

#: Bytes of a segment read for its codecs (the parameter sets lead the first key frame).
HEAD = 256 * 1024
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


def probe(path: str) -> VideoInfo:
    """Describe the video of one segment file; an empty description when ffmpeg cannot."""
    import imageio_ffmpeg

    with open(path, "rb") as file:
        codecs = codecs_of(file.read(HEAD))
    frames = imageio_ffmpeg.read_frames(path)
    try:
        meta = next(frames)
    except (OSError, RuntimeError, StopIteration) as err:
        log.warning("could not read the video of %s: %s", path, err)
        return VideoInfo(codecs=codecs)
    finally:
        frames.close()
    size, fps = meta.get("size"), meta.get("fps")
    resolution = (int(size[0]), int(size[1])) if size else None
    return VideoInfo(resolution, float(fps) if fps else None, codecs)


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
