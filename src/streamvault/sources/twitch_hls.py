"""Twitch's HLS dialect over the generic parser: its tags and its ad rules (SPEC §6.8, §6.9).
Pure.

Tags, added to ``hls.parse.MEDIA_TAGS``:

- ``#EXT-X-TWITCH-PREFETCH:URI`` lists the next segments before they are complete: each is a
  segment (``prefetch``) whose duration is a guess, the previous one's;
- ``#EXT-X-SCTE35-OUT`` / ``#EXT-X-CUE-OUT`` open an ad break, ``#EXT-X-SCTE35-IN`` /
  ``#EXT-X-CUE-IN`` close it (``in_scte35_break``), attributes or not;
- every other ``#EXT-X-TWITCH-*`` header (``LIVE-SEQUENCE``, ``ELAPSED-SECS``, ``TOTAL-SECS``,
  ``INFO``, ...) is kept in ``MediaPlaylist.tags`` by name; other unknown tags are ignored.

Ads: a segment is an ad when its ``EXTINF`` title starts with ``Amazon``, when its start lies
inside an ``EXT-X-DATERANGE`` of ``CLASS="twitch-stitched-ad"``, with an ``ID`` starting with
``stitched-ad-`` or carrying ``X-TV-TWITCH-AD-*`` attributes (streamlink's rule), or when it
lies inside an SCTE-35 break. Date ranges of other classes (``twitch-trigger``, ``timestamp``,
...) never make a segment an ad.

Master playlists need no dialect: the generic parser keeps every variant attribute, and
``sources.variants`` reads usher's ``IVS-NAME``/``IVS-GROUPS``/``STABLE-VARIANT-ID``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ..hls.models import DateRange, MediaPlaylist, MediaSegment
from ..hls.parse import MAX_LINES, MEDIA_TAGS, MediaHandler, MediaState, parse_media

PREFETCH_TAG = "EXT-X-TWITCH-PREFETCH"
#: Headers of this prefix that no handler takes are kept in ``MediaPlaylist.tags``.
TAG_PREFIX = "EXT-X-TWITCH-"
AD_CLASS = "twitch-stitched-ad"
AD_ID_PREFIX = "stitched-ad-"
AD_TITLE_PREFIX = "Amazon"
AD_ATTRIBUTE_PREFIX = "X-TV-TWITCH-AD-"


def _prefetch(state: MediaState, value: str) -> None:
    state.add(value.strip(), prefetch=True)


def _break_out(state: MediaState, value: str) -> None:
    state.in_break = True


def _break_in(state: MediaState, value: str) -> None:
    state.in_break = False


#: The generic media tags with Twitch's.
MEDIA_TAGS_TWITCH: Mapping[str, MediaHandler] = MappingProxyType(
    {
        **MEDIA_TAGS,
        PREFETCH_TAG: _prefetch,
        "EXT-X-SCTE35-OUT": _break_out,
        "EXT-X-CUE-OUT": _break_out,
        "EXT-X-SCTE35-IN": _break_in,
        "EXT-X-CUE-IN": _break_in,
    }
)


def keep_twitch_tag(state: MediaState, name: str, value: str) -> None:
    """An unknown tag: an ``EXT-X-TWITCH-*`` header is kept, anything else ignored."""
    if name.startswith(TAG_PREFIX):
        state.tags[name] = value


def parse_twitch_media(text: str, base_url: str = "", max_lines: int = MAX_LINES) -> MediaPlaylist:
    """``hls.parse.parse_media`` with Twitch's tags."""
    return parse_media(text, base_url, max_lines, MEDIA_TAGS_TWITCH, keep_twitch_tag)


def is_ad_range(date_range: DateRange) -> bool:
    return (
        date_range.class_ == AD_CLASS
        or date_range.id.startswith(AD_ID_PREFIX)
        or any(name.startswith(AD_ATTRIBUTE_PREFIX) for name in date_range.attributes)
    )


def is_ad(segment: MediaSegment, date_ranges: Iterable[DateRange] = ()) -> bool:
    if segment.title.startswith(AD_TITLE_PREFIX) or segment.in_scte35_break:
        return True
    start = segment.start
    if start is None:
        return False
    for date_range in date_ranges:
        if not is_ad_range(date_range) or start < date_range.start:
            continue
        if date_range.end is None or start < date_range.end:
            return True
    return False


def ad_flags(playlist: MediaPlaylist) -> list[bool]:
    """``is_ad`` for every segment of a playlist, in order."""
    ranges = [r for r in playlist.date_ranges if is_ad_range(r)]
    return [is_ad(segment, ranges) for segment in playlist.segments]
