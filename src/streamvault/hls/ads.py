"""Which segments are ads (SPEC §6.9). Pure.

A segment is an ad when its ``EXTINF`` title starts with ``Amazon``, when its start lies inside
an ``EXT-X-DATERANGE`` of ``CLASS="twitch-stitched-ad"``, with an ``ID`` starting with
``stitched-ad-`` or carrying ``X-TV-TWITCH-AD-*`` attributes (streamlink's rule), or when it
lies between ``#EXT-X-SCTE35-OUT`` and ``#EXT-X-SCTE35-IN``. Date ranges of other classes
(``twitch-trigger``, ``timestamp``, ...) never make a segment an ad.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import DateRange, MediaPlaylist, MediaSegment

AD_CLASS = "twitch-stitched-ad"
AD_ID_PREFIX = "stitched-ad-"
AD_TITLE_PREFIX = "Amazon"
AD_ATTRIBUTE_PREFIX = "X-TV-TWITCH-AD-"


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
