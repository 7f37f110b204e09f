"""Parse HLS master and media playlists (RFC 8216 plus Twitch's extensions). Pure: no I/O.

Unknown tags are ignored, so Twitch's ``#EXT-X-TWITCH-*`` headers, ``TARGETDURATION`` larger
than the segments and non-ad ``EXT-X-DATERANGE`` tags cannot confuse it. Bounded against a
hostile origin: a playlist of more than ``max_lines`` lines is refused before it is split, and
a segment whose ``EXTINF`` is not a positive finite number, or whose time cannot be computed
(a date that overflows), is left out and named in ``MediaPlaylist.rejected``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin

from ..errors import BadPlaylist
from .models import DateRange, MasterPlaylist, MediaPlaylist, MediaSegment, Rendition, Variant

_ATTRIBUTE = re.compile(r'\s*([A-Za-z0-9_-]+)=("[^"]*"|[^,]*)\s*(?:,|$)')
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


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
    """An ISO 8601 date-time with any number of fractional digits (kept to microseconds).

    Cached: a live playlist repeats each time about thirty times as it is polled."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise BadPlaylist(f"bad date-time {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz: timezone = UTC
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = timezone(sign * offset)
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
        )
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise BadPlaylist(f"bad date-time {text!r}: {err}") from None


#: A playlist with more lines than this is refused (Twitch's have about a hundred).
MAX_LINES = 20_000
#: A segment longer than this (seconds) is absurd: left out like a NaN or negative one.
MAX_EXTINF = 3600.0


def _lines(text: str, max_lines: int = MAX_LINES) -> list[str]:
    if text.count("\n") > max_lines:
        raise BadPlaylist(f"playlist has more than {max_lines} lines")
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or not lines[0].startswith("#EXTM3U"):
        raise BadPlaylist("not an HLS playlist (no #EXTM3U)")
    return lines


def _tag(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.upper(), value


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def parse_master(text: str, base_url: str = "", max_lines: int = MAX_LINES) -> MasterPlaylist:
    variants: list[Variant] = []
    renditions: list[Rendition] = []
    pending: dict[str, str] | None = None
    for line in _lines(text, max_lines):
        if line.startswith("#"):
            name, value = _tag(line)
            if name == "#EXT-X-STREAM-INF":
                pending = parse_attributes(value)
            elif name == "#EXT-X-MEDIA":
                attrs = parse_attributes(value)
                renditions.append(
                    Rendition(
                        attrs.get("TYPE", ""),
                        attrs.get("GROUP-ID", ""),
                        attrs.get("NAME", ""),
                        attrs,
                    )
                )
        elif pending is not None:
            try:
                bandwidth = int(pending.get("BANDWIDTH", "0"))
            except ValueError:
                bandwidth = 0
            variants.append(Variant(resolve(base_url, line), bandwidth, pending))
            pending = None
    if not variants:
        raise BadPlaylist("master playlist without variants")
    return MasterPlaylist(tuple(variants), tuple(renditions))


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


class _MediaState:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.segments: list[MediaSegment] = []
        self.sequence = 0
        self.duration: float | None = None
        self.title = ""
        self.pdt: datetime | None = None
        self.discontinuity = False
        self.in_break = False
        self.map_uri: str | None = None
        self.rejected: list[str] = []
        self.bad_duration: str | None = None
        self.chain: datetime | None = None  # where the next segment starts without a PDT

    def add(self, uri: str, prefetch: bool = False) -> None:
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

    def extinf(self, value: str) -> None:
        duration, _, title = value.partition(",")
        self.title = title.strip()
        number = _number(duration, "EXTINF duration")
        if 0 < number <= MAX_EXTINF:  # also false for NaN
            self.duration = number
        else:
            self.duration, self.bad_duration = None, duration.strip()[:40]


def parse_media(text: str, base_url: str = "", max_lines: int = MAX_LINES) -> MediaPlaylist:
    """Parse a media playlist; segment URIs are made absolute against ``base_url``."""
    state = _MediaState(base_url)
    target_duration = 0.0
    media_sequence = 0
    endlist = False
    ranges: list[DateRange] = []
    tags: dict[str, str] = {}
    for line in _lines(text, max_lines)[1:]:
        if not line.startswith("#"):
            state.add(line)
            continue
        name, value = _tag(line)
        if name == "#EXTINF":
            state.extinf(value)
        elif name == "#EXT-X-PROGRAM-DATE-TIME":
            state.pdt = parse_date(value)
        elif name == "#EXT-X-MEDIA-SEQUENCE":
            media_sequence = _integer(value, "MEDIA-SEQUENCE")
            state.sequence = media_sequence + len(state.segments)
        elif name == "#EXT-X-TARGETDURATION":
            target_duration = _number(value, "TARGETDURATION")
        elif name == "#EXT-X-DISCONTINUITY":
            state.discontinuity = True
        elif name == "#EXT-X-ENDLIST":
            endlist = True
        elif name == "#EXT-X-DATERANGE":
            date_range = _date_range(value)
            if date_range is not None:
                ranges.append(date_range)
        elif name in ("#EXT-X-SCTE35-OUT", "#EXT-X-CUE-OUT"):
            state.in_break = True
        elif name in ("#EXT-X-SCTE35-IN", "#EXT-X-CUE-IN"):
            state.in_break = False
        elif name == "#EXT-X-MAP":
            uri = parse_attributes(value).get("URI")
            state.map_uri = resolve(base_url, uri) if uri else None
        elif name == "#EXT-X-TWITCH-PREFETCH":
            state.add(value.strip(), prefetch=True)
        elif name.startswith("#EXT-X-TWITCH-"):
            tags[name[1:]] = value
    return MediaPlaylist(
        target_duration,
        media_sequence,
        tuple(state.segments),
        _close_end_on_next(ranges),
        endlist,
        tags,
        tuple(state.rejected),
    )
