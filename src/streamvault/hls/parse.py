"""Parse HLS master and media playlists (RFC 8216). Pure: no I/O.

Each tag goes to the handler that a table maps its name to (``MEDIA_TAGS``, ``MASTER_TAGS``):
a function of the parse state and the tag's value. These tables know only the tags of RFC
8216; a dialect is a table made of them plus its own tags, and an ``unknown`` handler for the
tags no table names, which by default ignores them as RFC 8216 §6.3.1 asks of clients. So a
vendor's headers, a ``TARGETDURATION`` larger than the segments and ``EXT-X-DATERANGE`` tags
of any class cannot confuse it. Twitch's dialect (its prefetch tag, its ``EXT-X-TWITCH-*``
headers, its ad markers) is ``streamvault.sources.twitch_hls``; nothing here knows Twitch.

Bounded against a hostile origin: a playlist of more than ``max_lines`` lines is refused before
it is split, and a segment whose ``EXTINF`` is not a positive finite number, or whose time
cannot be computed (a date that overflows), is left out and named in
``MediaPlaylist.rejected``.

Hand-written rather than the ``m3u8`` package (6.0), because on Twitch's playlists that
package drops the ``#EXT-X-TWITCH-PREFETCH`` segments (15 of 17 read: a dialect here adds them
with a handler), ignores the ``#EXT-X-SCTE35-OUT``/``-IN`` ad markers (it knows only
``CUE-OUT``/``CUE-IN``), keeps ``IVS-NAME`` (what a variant is called on usher v2) only in its
raw dictionaries, not on its ``StreamInfo``, and is about 4x slower per live poll: 3.5x to
4.3x in eight runs of ``bench/hls_parse.py`` on a loaded 2-core machine (900 polls of the real
live playlist in ``tests/resources/twitch`` advanced a segment each, CPU time: 0.12-0.19 ms a
poll here, 0.44-0.73 ms there); 1.8-2.2x on a poll none of whose dates is cached yet, 1.6-4.5x
on a master playlist.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType
from urllib.parse import urljoin

from ..errors import BadPlaylist, BadTime
from ..timeutil import parse_time
from .models import DateRange, MasterPlaylist, MediaPlaylist, MediaSegment, Rendition, Variant

_ATTRIBUTE = re.compile(r'\s*([A-Za-z0-9_-]+)=("[^"]*"|[^,]*)\s*(?:,|$)')

#: A playlist with more lines than this is refused (Twitch's have about a hundred).
MAX_LINES = 20_000
#: A segment longer than this (seconds) is absurd: left out like a NaN or negative one.
MAX_EXTINF = 3600.0


def resolve(base_url: str, uri: str) -> str:
    """``urljoin``, with a fast path for the absolute URIs Twitch sends (polled every 2 s)."""
    if uri.startswith(("https://", "http://")) or not base_url:
        return uri
    return urljoin(base_url, uri)


def parse_attributes(text: str) -> dict[str, str]:
    """``A=1,B="x,y"`` -> ``{"A": "1", "B": "x,y"}`` (quotes removed)."""
    attributes: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _ATTRIBUTE.match(text, position)
        if match is None or match.end() == position:
            break
        value = match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        attributes[match[1].upper()] = value
        position = match.end()
    return attributes


@functools.lru_cache(maxsize=16384)
def parse_date(text: str) -> datetime:
    """A playlist's date-time (``timeutil.parse_time``); a bad one is a ``BadPlaylist``.

    Cached: a live playlist repeats each time about thirty times as it is polled."""
    try:
        return parse_time(text)
    except BadTime as err:
        raise BadPlaylist(f"bad date-time: {err}") from None


def _lines(text: str, max_lines: int = MAX_LINES) -> list[str]:
    if text.count("\n") > max_lines:
        raise BadPlaylist(f"playlist has more than {max_lines} lines")
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise BadPlaylist("not an HLS playlist (no #EXTM3U)")
    return lines


def _tag(line: str) -> tuple[str, str]:
    """``#EXT-X-FOO:value`` -> ``("EXT-X-FOO", "value")``; names are matched upper-case."""
    name, _, value = line[1:].partition(":")
    return name.upper(), value


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def _number(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise BadPlaylist(f"bad {what} {value!r}") from None


def _integer(value: str, what: str) -> int:
    number = _number(value, what)
    if not math.isfinite(number) or abs(number) > 2**63:
        raise BadPlaylist(f"bad {what} {value!r}")
    return int(number)


# --- master playlists ---------------------------------------------------------------------


class MasterState:
    """What a master playlist has said so far; its tag handlers read and change it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.variants: list[Variant] = []
        self.renditions: list[Rendition] = []
        #: the attributes of an ``EXT-X-STREAM-INF`` waiting for its URI line
        self.pending: dict[str, str] | None = None

    def uri(self, line: str) -> None:
        if self.pending is None:
            return
        try:
            bandwidth = int(self.pending.get("BANDWIDTH", "0"))
        except ValueError:
            bandwidth = 0
        self.variants.append(Variant(resolve(self.base_url, line), bandwidth, self.pending))
        self.pending = None


MasterHandler = Callable[[MasterState, str], None]


def _stream_inf(state: MasterState, value: str) -> None:
    state.pending = parse_attributes(value)


def _media(state: MasterState, value: str) -> None:
    attrs = parse_attributes(value)
    rendition = Rendition(
        attrs.get("TYPE", ""), attrs.get("GROUP-ID", ""), attrs.get("NAME", ""), attrs
    )
    state.renditions.append(rendition)


#: RFC 8216 §4.3.4: the master playlist tags this parser acts on.
MASTER_TAGS: Mapping[str, MasterHandler] = MappingProxyType(
    {"EXT-X-STREAM-INF": _stream_inf, "EXT-X-MEDIA": _media}
)


def parse_master(
    text: str,
    base_url: str = "",
    max_lines: int = MAX_LINES,
    tags: Mapping[str, MasterHandler] = MASTER_TAGS,
) -> MasterPlaylist:
    """Parse a master playlist; variant URIs are made absolute against ``base_url``. Every
    attribute of a variant is kept (a dialect's too: usher's ``IVS-NAME``, ``IVS-GROUPS``)."""
    state = MasterState(base_url)
    for line in _lines(text, max_lines):
        if line.startswith("#"):
            name, value = _tag(line)
            handler = tags.get(name)
            if handler is not None:
                handler(state, value)
        else:
            state.uri(line)
    if not state.variants:
        raise BadPlaylist("master playlist without variants")
    return MasterPlaylist(tuple(state.variants), tuple(state.renditions))


# --- media playlists ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _date_range(value: str) -> DateRange | None:
    attrs = parse_attributes(value)
    if "START-DATE" not in attrs:
        return None
    start = parse_date(attrs["START-DATE"])
    end: datetime | None = None
    if "END-DATE" in attrs:
        end = parse_date(attrs["END-DATE"])
    elif "DURATION" in attrs:
        try:
            end = start + timedelta(seconds=_number(attrs["DURATION"], "DATERANGE DURATION"))
        except (ValueError, OverflowError):
            return None  # an absurd range is ignored (ignoring an ad range stores an ad: no loss)
    return DateRange(
        attrs.get("ID", ""),
        attrs.get("CLASS", ""),
        start,
        end,
        attrs.get("END-ON-NEXT", "").upper() == "YES",
        attrs,
    )


def _close_end_on_next(ranges: list[DateRange]) -> tuple[DateRange, ...]:
    """An ``END-ON-NEXT`` range ends where the next range of the same CLASS starts."""
    closed = []
    for index, current in enumerate(ranges):
        if current.end is None and current.end_on_next:
            later = [r.start for r in ranges[index + 1 :] if r.class_ == current.class_]
            if later:
                current = replace(current, end=later[0])
        closed.append(current)
    return tuple(closed)


class MediaState:
    """What a media playlist has said so far; its tag handlers read and change it.

    The playlist-wide values, then the values of the segment being described (they apply to
    the next URI and are reset after it), then what is done."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.target_duration = 0.0
        self.media_sequence = 0
        self.endlist = False
        self.date_ranges: list[DateRange] = []
        #: tags a dialect keeps by name (``MediaPlaylist.tags``)
        self.tags: dict[str, str] = {}
        self.sequence = 0
        self.duration: float | None = None
        self.bad_duration: str | None = None
        self.title = ""
        self.pdt: datetime | None = None
        self.discontinuity = False
        #: between a dialect's break-out and break-in markers (``in_scte35_break``)
        self.in_break = False
        self.map_uri: str | None = None
        self.segments: list[MediaSegment] = []
        self.rejected: list[str] = []
        self.chain: datetime | None = None  # where the next segment starts without a PDT

    def add(self, uri: str, prefetch: bool = False) -> None:
        """The segment at ``uri`` with what the tags before it said. ``prefetch``: listed
        before it is complete, without an ``EXTINF``: its duration is the previous one's."""
        duration = self.duration
        if duration is None and self.bad_duration is None:
            if not prefetch:
                raise BadPlaylist(f"segment {uri!r} without #EXTINF")
            duration = self.segments[-1].duration if self.segments else 0.0
        start = self.pdt if self.pdt is not None else self.chain
        end: datetime | None = None
        try:
            if duration is not None and start is not None:
                end = start + timedelta(seconds=duration)
        except OverflowError:
            self._reject(f"segment {self.sequence}: its time overflows ({start} + {duration} s)")
            return
        if duration is None:
            self._reject(f"segment {self.sequence}: bad EXTINF duration {self.bad_duration}")
            return
        self.chain = end
        self.segments.append(
            MediaSegment(
                resolve(self.base_url, uri),
                self.sequence,
                duration,
                self.title,
                start,
                self.pdt,
                self.discontinuity,
                self.in_break,
                prefetch,
                self.map_uri,
            )
        )
        self._next()

    def _reject(self, reason: str) -> None:
        self.rejected.append(reason)
        self.chain = None
        self._next()

    def _next(self) -> None:
        self.sequence += 1
        self.duration, self.title, self.pdt, self.discontinuity = None, "", None, False
        self.bad_duration = None

    def playlist(self) -> MediaPlaylist:
        return MediaPlaylist(
            self.target_duration,
            self.media_sequence,
            tuple(self.segments),
            _close_end_on_next(self.date_ranges),
            self.endlist,
            self.tags,
            tuple(self.rejected),
        )


MediaHandler = Callable[[MediaState, str], None]
#: Called with the state, the tag's name (upper-case, without ``#``) and its value.
UnknownHandler = Callable[[MediaState, str, str], None]


def _extinf(state: MediaState, value: str) -> None:
    duration, _, title = value.partition(",")
    state.title = title.strip()
    number = _number(duration, "EXTINF duration")
    if 0 < number <= MAX_EXTINF:  # also false for NaN
        state.duration = number
    else:
        state.duration, state.bad_duration = None, duration.strip()[:40]


def _program_date_time(state: MediaState, value: str) -> None:
    state.pdt = parse_date(value)


def _media_sequence(state: MediaState, value: str) -> None:
    state.media_sequence = _integer(value, "MEDIA-SEQUENCE")
    state.sequence = state.media_sequence + len(state.segments)


def _target_duration(state: MediaState, value: str) -> None:
    state.target_duration = _number(value, "TARGETDURATION")


def _discontinuity(state: MediaState, value: str) -> None:
    state.discontinuity = True


def _endlist(state: MediaState, value: str) -> None:
    state.endlist = True


def _daterange(state: MediaState, value: str) -> None:
    date_range = _date_range(value)
    if date_range is not None:
        state.date_ranges.append(date_range)


def _map(state: MediaState, value: str) -> None:
    uri = parse_attributes(value).get("URI")
    state.map_uri = resolve(state.base_url, uri) if uri else None


#: RFC 8216 §4.3.2 and §4.3.3: the media playlist tags this parser acts on (the others, such
#: as ``EXT-X-VERSION`` or ``EXT-X-KEY``, change nothing it reports).
MEDIA_TAGS: Mapping[str, MediaHandler] = MappingProxyType(
    {
        "EXTINF": _extinf,
        "EXT-X-PROGRAM-DATE-TIME": _program_date_time,
        "EXT-X-MEDIA-SEQUENCE": _media_sequence,
        "EXT-X-TARGETDURATION": _target_duration,
        "EXT-X-DISCONTINUITY": _discontinuity,
        "EXT-X-ENDLIST": _endlist,
        "EXT-X-DATERANGE": _daterange,
        "EXT-X-MAP": _map,
    }
)


def ignore(state: MediaState, name: str, value: str) -> None:
    """A tag no table names: ignored (RFC 8216 §6.3.1)."""


def parse_media(
    text: str,
    base_url: str = "",
    max_lines: int = MAX_LINES,
    tags: Mapping[str, MediaHandler] = MEDIA_TAGS,
    unknown: UnknownHandler = ignore,
) -> MediaPlaylist:
    """Parse a media playlist; segment URIs are made absolute against ``base_url``.

    ``tags`` and ``unknown``: a dialect's table and its handler for the tags not in it."""
    state = MediaState(base_url)
    for line in _lines(text, max_lines)[1:]:
        if not line.startswith("#"):
            state.add(line)
            continue
        name, value = _tag(line)
        handler = tags.get(name)
        if handler is not None:
            handler(state, value)
        else:
            unknown(state, name, value)
    return state.playlist()
