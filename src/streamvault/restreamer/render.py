"""HLS playlists for the restreamer (SPEC §5). Pure: no I/O.

Media playlists carry ``#EXT-X-VERSION``, an integer ``#EXT-X-TARGETDURATION`` (the ceiling of
the longest segment), ``#EXT-X-PROGRAM-DATE-TIME`` before every segment and
``#EXT-X-DISCONTINUITY`` at every hole between segments. ``#EXT-X-ENDLIST`` is written only
when the caller says the range is closed and wholly in the past; otherwise the playlist is an
``EVENT`` playlist that players keep reloading.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from ..store.naming import Segment
from ..store.select import Hole
from ..timeutil import format_iso

VERSION = 3


def segment_uri(segment: Segment) -> str:
    """Relative URI of a segment from ``/playlist/CHANNEL/QUALITY.m3u8``."""
    return f"{base_uri(segment.channel, segment.quality)}{segment.hour}/{segment.name}"


def entry_text(program_date_time: str, duration_text: str, uri: str) -> str:
    return f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time}\n#EXTINF:{duration_text},\n{uri}"


def segment_entry(segment: Segment) -> str:
    """The lines of one segment: program date time, duration (as in its name), URI."""
    return entry_text(format_iso(segment.start), repr(segment.duration), segment_uri(segment))


def base_uri(channel: str, quality: str) -> str:
    return f"../../segments/{quote(channel, safe=':')}/{quote(quality, safe=':')}/"


def entry_from_name(base: str, hour: str, name: str) -> str:
    """:func:`segment_entry` from a canonical file name, with string operations only (fast).

    ``hour`` is ``YYYY-MM-DDTHH`` and ``name`` starts with ``MM:SS.ffffff-DURATION-``; neither
    needs quoting in a URI path.
    """
    duration = name[13 : name.index("-", 13)]
    return f"#EXT-X-PROGRAM-DATE-TIME:{hour}:{name[:12]}Z\n#EXTINF:{duration},\n{base}{hour}/{name}"


def target_duration(segments: Iterable[Segment]) -> int:
    """Ceiling of the longest segment (at least 1), as HLS requires an integer."""
    longest = max((segment.duration for segment in segments), default=1.0)
    # A float duration like 2.0000000001 must not become 3: round to the millisecond first.
    return max(1, math.ceil(round(longest, 3)))


def media_playlist(
    selection: Sequence[Segment | Hole],
    ended: bool,
    entry: Callable[[Segment], str] = segment_entry,
) -> str:
    """Render a media playlist from :func:`~streamvault.store.select.select_segments` output."""
    segments = [item for item in selection if isinstance(item, Segment)]
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(segments)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if ended else 'EVENT'}",
    ]
    hole_pending = False
    started = False
    append = lines.append
    for item in selection:
        if type(item) is Hole:
            hole_pending = started  # a hole before the first segment needs no marker
            continue
        if hole_pending:
            append("#EXT-X-DISCONTINUITY")
            hole_pending = False
        started = True
        append(entry(item))  # type: ignore[arg-type]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What players choose a variant by, as far as it is known."""

    resolution: tuple[int, int] | None = None  # width, height
    frame_rate: float | None = None
    codecs: tuple[str, ...] = ()  # RFC 6381, video first


@dataclass(frozen=True, slots=True)
class Variant:
    """One quality in a master playlist."""

    quality: str
    bandwidth: int  # bits per second
    uri: str
    video: VideoInfo = VideoInfo()


def bandwidth(segments: Iterable[Segment]) -> int:
    """Average bits per second of segments whose size is known (at least 1)."""
    size = 0
    duration = 0.0
    for segment in segments:
        if segment.size is not None and segment.duration > 0:
            size += segment.size
            duration += segment.duration
    if duration <= 0:
        return 1
    return max(1, round(size * 8 / duration))


def _quoted(value: str) -> str:
    return '"' + value.replace('"', "'").replace("\n", " ") + '"'


def _stream_inf(variant: Variant, group: str) -> str:
    attributes = [f"BANDWIDTH={variant.bandwidth}"]
    video = variant.video
    if video.resolution is not None:
        attributes.append("RESOLUTION={}x{}".format(*video.resolution))
    if video.frame_rate is not None:
        attributes.append(f"FRAME-RATE={video.frame_rate:.3f}")
    if video.codecs:
        attributes.append(f"CODECS={_quoted(','.join(video.codecs))}")
    # NAME is not in RFC 8216 here: it is the label hls.js shows. The variant is not tied to
    # its video rendition (no VIDEO=): streamlink would then call it by the rendition's NAME
    # and rank a name like "source" below every "480p"; untied, it names and ranks variants
    # by RESOLUTION and FRAME-RATE, so ``best`` is the original.
    attributes.append(f"NAME={group}")
    return "#EXT-X-STREAM-INF:" + ",".join(attributes)


def master_playlist(variants: Sequence[Variant]) -> str:
    """A master playlist: per quality an ``EXT-X-MEDIA`` video rendition named as the quality,
    and a variant with its bandwidth, resolution, frame rate and codecs (those known)."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}"]
    for variant in variants:
        name = _quoted(variant.quality)
        lines.append(
            f"#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID={name},NAME={name},AUTOSELECT=YES,DEFAULT=YES"
        )
        lines.append(_stream_inf(variant, name))
        lines.append(variant.uri)
    return "\n".join(lines) + "\n"
