"""Rendering the simulator's master and media playlists, in Twitch's shapes. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import QualityInfo

SOURCE_CODECS = "avc1.64002A,mp4a.40.2"
TRANSCODE_CODECS = "avc1.4D401F,mp4a.40.2"


def format_pdt(when: datetime) -> str:
    """``2023-09-17T02:31:48.242Z``: UTC with milliseconds, as Twitch writes it."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Variant:
    quality: QualityInfo
    uri: str
    portrait: bool = False


def _stream_inf(variant: Variant, extra: str) -> str:
    q = variant.quality
    width, height = (q.height, q.width) if variant.portrait else (q.width, q.height)
    codecs = SOURCE_CODECS if q.name == "source" else TRANSCODE_CODECS
    return (
        f'#EXT-X-STREAM-INF:BANDWIDTH={q.bandwidth},CODECS="{codecs}",'
        f"RESOLUTION={width}x{height},FRAME-RATE={q.frame_rate:.3f}{extra}"
    )


def render_master_media_style(
    variants: Sequence[Variant], server_time: float, source_name: str = "1080p60 (source)"
) -> str:
    """Older usher style: an ``EXT-X-MEDIA TYPE=VIDEO`` rendition names each variant."""
    lines = [
        "#EXTM3U",
        '#EXT-X-TWITCH-INFO:NODE="video-edge-sim",MANIFEST-NODE="sim",'
        f'SERVER-TIME="{server_time:.2f}",ORIGIN="s3",REGION="SIM",B="false"',
    ]
    for variant in variants:
        if variant.portrait:
            continue
        q = variant.quality
        name = source_name if q.name == "source" else q.display_name
        lines += [
            f'#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="{q.group_id}",NAME="{name}",'
            "AUTOSELECT=YES,DEFAULT=YES",
            _stream_inf(variant, f',VIDEO="{q.group_id}"'),
            variant.uri,
        ]
    return "\n".join(lines) + "\n"


def render_master_ivs_style(variants: Sequence[Variant]) -> str:
    """Newer usher v2 style: ``IVS-NAME`` / ``STABLE-VARIANT-ID`` attributes, no EXT-X-MEDIA.

    As in the 2026 capture, ``IVS-VARIANT-SOURCE`` is ``source`` on every variant (so it cannot
    tell the original apart), and each transcode has a portrait twin listed before it."""
    lines = ["#EXTM3U"]
    for variant in variants:
        q = variant.quality
        stable = q.display_name if q.name == "source" else q.group_id
        group = "landscape"
        if variant.portrait:
            stable, group = f"{stable}-portrait", "portrait"
        extra = (
            f',STABLE-VARIANT-ID="{stable}",IVS-NAME="{q.display_name}",'
            f'IVS-GROUPS="{group}",IVS-VARIANT-SOURCE="source"'
        )
        lines += [_stream_inf(variant, extra), variant.uri]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class AdBreak:
    """One ad break: marked by ``marking`` (daterange | amazon | scte35)."""

    id: str
    marking: str
    start: datetime
    duration: float
    last_sequence: int | None = None
    last_duration: float | None = None


@dataclass(frozen=True, slots=True)
class MediaEntry:
    sequence: int
    program_date_time: datetime
    duration: float
    uri: str
    ad: AdBreak | None = None


@dataclass(frozen=True, slots=True)
class MediaPlaylist:
    entries: Sequence[MediaEntry]
    segment_duration: float
    created: datetime
    elapsed_seconds: float
    prefetch: Sequence[str] = ()
    endlist: bool = False
    #: HLS numbers segments by position: the first entry's index among everything published
    #: (after the stream was down, this differs from the time-based ``MediaEntry.sequence``).
    media_sequence: int | None = None
    #: a ``twitch-trigger`` date range (seen in ad-context playlists since May 2026) opening
    #: here, over content, with END-ON-NEXT and no next: it marks no ad
    trigger: datetime | None = None
    #: fMP4: the init section's URI (``#EXT-X-MAP``)
    map_uri: str | None = None

    @property
    def target_duration(self) -> int:
        """Twitch announces more than the segments last (5 for 2 s segments)."""
        longest = max([e.duration for e in self.entries] + [self.segment_duration])
        return math.ceil(longest) + 3


def _header(playlist: MediaPlaylist) -> list[str]:
    first = playlist.entries[0].sequence if playlist.entries else 0
    if playlist.media_sequence is not None:
        first = playlist.media_sequence
    last = first + max(0, len(playlist.entries) - 1)
    window = sum(e.duration for e in playlist.entries)
    created = format_pdt(playlist.created)
    stamp = int(playlist.created.timestamp())
    return [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{playlist.target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        f"#EXT-X-TWITCH-LIVE-SEQUENCE:{last}",
        f"#EXT-X-TWITCH-ELAPSED-SECS:{playlist.elapsed_seconds:.3f}",
        f"#EXT-X-TWITCH-TOTAL-SECS:{playlist.elapsed_seconds + window:.3f}",
        f'#EXT-X-DATERANGE:ID="playlist-creation-{stamp}",CLASS="timestamp",'
        f'START-DATE="{created}",END-ON-NEXT=YES,X-SERVER-TIME="{playlist.created.timestamp():.2f}"',
        f'#EXT-X-DATERANGE:ID="playlist-session-{stamp}",CLASS="twitch-session",'
        f'START-DATE="{created}",END-ON-NEXT=YES,X-TV-TWITCH-SESSIONID="{stamp}"',
        *_trigger(playlist.trigger),
        *([f'#EXT-X-MAP:URI="{playlist.map_uri}"'] if playlist.map_uri else []),
    ]


def _trigger(start: datetime | None) -> list[str]:
    if start is None:
        return []
    stamp = int(start.timestamp())
    return [
        f'#EXT-X-DATERANGE:ID="trigger-{stamp}",CLASS="twitch-trigger",'
        f'START-DATE="{format_pdt(start)}",END-ON-NEXT=YES,'
        f'X-TV-TWITCH-TRIGGER-URL="https://video-weaver.sim/trigger/{stamp}"'
    ]


def _ad_opening(ad: AdBreak) -> list[str]:
    if ad.marking == "daterange":
        return [
            f'#EXT-X-DATERANGE:ID="stitched-ad-{ad.id}",CLASS="twitch-stitched-ad",'
            f'START-DATE="{format_pdt(ad.start)}",DURATION={ad.duration:.3f},'
            f'X-TV-TWITCH-AD-POD-LENGTH="1",X-TV-TWITCH-AD-ROLL-TYPE="MIDROLL"'
        ]
    if ad.marking == "scte35":
        return [f'#EXT-X-SCTE35-OUT:URL="sim-ad-{ad.id}"']
    return []


def render_media(playlist: MediaPlaylist) -> str:
    """A Twitch-like live media playlist; ad breaks and gaps (the stream was down) are
    bracketed by discontinuities."""
    lines = _header(playlist)
    previous: MediaEntry | None = None
    for entry in playlist.entries:
        changed = previous is not None and previous.ad != entry.ad
        gap = previous is not None and entry.sequence != previous.sequence + 1
        if changed or gap:
            lines.append("#EXT-X-DISCONTINUITY")
        if changed and previous is not None and previous.ad and previous.ad.marking == "scte35":
            lines.append("#EXT-X-SCTE35-IN")
        if entry.ad is not None and (previous is None or previous.ad != entry.ad):
            lines += _ad_opening(entry.ad)
        title = f"Amazon|{entry.ad.id}" if entry.ad and entry.ad.marking == "amazon" else "live"
        lines += [
            f"#EXT-X-PROGRAM-DATE-TIME:{format_pdt(entry.program_date_time)}",
            f"#EXTINF:{entry.duration:.3f},{title}",
            entry.uri,
        ]
        previous = entry
    lines += [f"#EXT-X-TWITCH-PREFETCH:{uri}" for uri in playlist.prefetch]
    if playlist.endlist:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
