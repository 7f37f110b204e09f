"""Segment file names and paths, to the byte (SPEC §3). Pure: no I/O.

``BASE/CHANNEL/QUALITY/HOUR/TIME-DURATION-TYPE-HASH.ts``, for example
``desertbus/source/2019-11-13T02/45:51.608000-2.0-full-7IS92rssMzoSBQDIevHStbTNy-URRV3Vw-jzZ6pwOZM.ts``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Literal

from ..errors import BadTime, MalformedName, UnsafePath
from ..timeutil import hour_name, parse_hour

SegmentType = Literal["full", "suspect", "partial"]
SEGMENT_TYPES: tuple[SegmentType, ...] = ("full", "suspect", "partial")
TEMP = "temp"
SUFFIX = ".ts"
TOMBSTONE_SUFFIX = ".tombstone"
#: Tombstones earlier streamvault versions wrote (``NAME.ts.tombstone``): honoured when read,
#: renamed to the canonical ``NAME.tombstone`` at start-up, never written.
LEGACY_TOMBSTONE_SUFFIX = SUFFIX + TOMBSTONE_SUFFIX
#: The empty file's hash. SPEC §3 prints it as 47DEQpj8HBSa_-TImW_5...: that swaps "-" and "_"
#: against URL-safe base64, which the same sentence asks for and which wubloader nodes write
#: (b64encode with altchars "-_"). Byte compatibility with them wins.
EMPTY_HASH = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

_HASH_RE = re.compile(r"[A-Za-z0-9_-]{43}")
# The form every writer produces. A cold 24 h playlist parses 43,200 names, so these are
# recognised by one regular expression; anything else takes the general path, which explains
# what is wrong with it.
_CANONICAL = re.compile(
    r"(\d\d):(\d\d)\.(\d{6})-(\d+\.\d+)-(full|suspect|partial)-([A-Za-z0-9_-]{43})\.ts"
)
_TIME_RE = re.compile(r"(\d{2}):(\d{2})\.(\d{6})")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def encode_hash(digest: bytes) -> str:
    """URL-safe base64 of a SHA-256 digest without padding (43 characters)."""
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def hash_bytes(data: bytes) -> str:
    return encode_hash(hashlib.sha256(data).digest())


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment file in the store, as its path describes it.

    ``size`` is not part of the name: listings may fill it, equality ignores it.
    """

    channel: str
    quality: str
    start: datetime
    duration: float
    type: SegmentType
    hash: str
    size: int | None = field(default=None, compare=False, repr=False)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration)

    @property
    def hour(self) -> str:
        return hour_name(self.start)

    @property
    def name(self) -> str:
        return format_name(self.start, self.duration, self.type, self.hash)

    @property
    def path(self) -> str:
        """Path relative to the base directory, always with ``/``."""
        return f"{self.channel}/{self.quality}/{self.hour}/{self.name}"

    @property
    def is_full(self) -> bool:
        return self.type == "full"


def check_path_part(part: str, what: str = "path part") -> str:
    """Refuse names that could escape or hide in the store: empty, ``.``-leading, separators."""
    if not part:
        raise UnsafePath(f"empty {what}")
    if part.startswith("."):
        raise UnsafePath(f"{what} may not start with '.': {part!r}")
    if "/" in part or "\\" in part or "\0" in part:
        raise UnsafePath(f"{what} may not contain a path separator: {part!r}")
    return part


def format_duration(duration: float) -> str:
    """Write a duration as Python writes a float: ``2.0``, ``2.002``."""
    text = repr(float(duration))
    # Python writes very small and very large floats with an exponent ("1e-05"), whose "-"
    # would split the name wrongly; no real segment lasts under 0.1 ms or over 31 years.
    if not math.isfinite(duration) or duration < 0 or "e" in text:
        raise ValueError(f"not a storable segment duration: {duration!r}")
    return text


def format_time(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%M:%S.%f")


def format_name(start: datetime, duration: float, type: str, hash: str) -> str:
    """``TIME-DURATION-TYPE-HASH.ts``; ``hash`` is a UUID when ``type`` is ``temp``."""
    return f"{format_time(start)}-{format_duration(duration)}-{type}-{hash}{SUFFIX}"


def temp_name(start: datetime, duration: float, uuid: str) -> str:
    """The name a segment is written under before its hash is known."""
    return format_name(start, duration, TEMP, uuid)


def file_stem(name: str) -> str:
    """A file name (or path) without its extension, as wubloader nodes split it (``X.ts`` ->
    ``X``; a leading dot of the last part is no extension)."""
    dot = name.rfind(".")
    return name[:dot] if dot > name.rfind("/") + 1 else name


def tombstone_name(file_name: str) -> str:
    """The canonical tombstone of a file: its extension replaced (``X.ts`` -> ``X.tombstone``),
    the form wubloader nodes write and read (SPEC §3)."""
    return file_stem(file_name) + TOMBSTONE_SUFFIX


def is_tombstone_name(name: str) -> bool:
    """Either tombstone form: canonical ``X.tombstone`` or legacy ``X.ts.tombstone``."""
    return name.endswith(TOMBSTONE_SUFFIX)


def is_legacy_tombstone_name(name: str) -> bool:
    return name.endswith(LEGACY_TOMBSTONE_SUFFIX)


def tombstone_stem(name: str) -> str:
    """The stem a tombstone hides (of either form): every ``STEM.EXT`` file in its directory."""
    if name.endswith(LEGACY_TOMBSTONE_SUFFIX):
        return name[: -len(LEGACY_TOMBSTONE_SUFFIX)]
    return name[: -len(TOMBSTONE_SUFFIX)]


def canonical_tombstone(name: str) -> str:
    """A tombstone name of either form in the canonical form."""
    return tombstone_stem(name) + TOMBSTONE_SUFFIX


def hidden_segment_name(name: str) -> str:
    """The segment name (``.ts``) a tombstone of either form hides."""
    return tombstone_stem(name) + SUFFIX


def is_temp_name(name: str) -> bool:
    parts = name.split("-", 3)
    return len(parts) == 4 and parts[2] == TEMP


def _fields(name: str) -> tuple[str, str, str, str]:
    if not name.endswith(SUFFIX):
        raise MalformedName(f"segment name must end in {SUFFIX}: {name!r}")
    parts = name[: -len(SUFFIX)].split("-", 3)
    if len(parts) != 4:
        raise MalformedName(f"segment name needs TIME-DURATION-TYPE-HASH: {name!r}")
    return parts[0], parts[1], parts[2], parts[3]


def parse_duration(text: str, name: str = "") -> float:
    try:
        duration = float(text)
    except ValueError:
        raise MalformedName(f"bad duration {text!r} in {name!r}") from None
    # Only the exact text Python would write round-trips; "2" or "2.00" is not ours.
    if not math.isfinite(duration) or duration < 0 or repr(duration) != text or "e" in text:
        raise MalformedName(f"bad duration {text!r} in {name!r}")
    return duration


#: Duration texts seen in names -> their value, for those Python writes back the same way.
_DURATIONS: dict[str, float] = {}


def _canonical_duration(text: str) -> float | None:
    """``float(text)`` if it is written as Python writes that float, else None (cached: a
    day of names holds only a few distinct durations)."""
    value = _DURATIONS.get(text)
    if value is None:
        value = float(text)
        if repr(value) != text:
            return None
        if len(_DURATIONS) < 4096:
            _DURATIONS[text] = value
    return value


# A frozen dataclass sets each field through object.__setattr__, which is slow; listing a day
# builds 43,200 segments, so the parser fills the slots through their descriptors instead
# (half the time). The assertion keeps this in step with the fields.
_SLOT_NAMES = ("channel", "quality", "start", "duration", "type", "hash", "size")
assert tuple(f.name for f in fields(Segment)) == _SLOT_NAMES
_set_channel, _set_quality, _set_start, _set_duration, _set_type, _set_hash, _set_size = (
    Segment.__dict__[name].__set__ for name in _SLOT_NAMES
)
_new_object = object.__new__


def _new_segment(
    channel: str, quality: str, start: datetime, duration: float, type: str, hash: str
) -> Segment:
    segment: Segment = _new_object(Segment)
    _set_channel(segment, channel)
    _set_quality(segment, quality)
    _set_start(segment, start)
    _set_duration(segment, duration)
    _set_type(segment, type)
    _set_hash(segment, hash)
    _set_size(segment, None)
    return segment


def parse_name(channel: str, quality: str, hour: datetime | str, name: str) -> Segment:
    """Parse a final segment file name inside its hour directory.

    Raises ``MalformedName`` for anything else, including ``temp`` names and tombstones.
    """
    if isinstance(hour, str):
        try:
            hour = parse_hour(hour)
        except BadTime as err:
            raise MalformedName(str(err)) from None
    canonical = _CANONICAL.fullmatch(name)
    if canonical is not None:
        minute, second, micro, duration_text, type_text, hash_text = canonical.groups()
        duration = _canonical_duration(duration_text)
        if minute < "60" and second < "60" and duration is not None:
            # The positional constructor is about twice as fast as datetime.replace.
            start = datetime(
                hour.year, hour.month, hour.day, hour.hour,
                int(minute), int(second), int(micro), UTC,
            )  # fmt: skip
            return _new_segment(channel, quality, start, duration, type_text, hash_text)
    time_text, duration_text, type_text, hash_text = _fields(name)
    # Fixed positions instead of a regex: a cold 24 h playlist parses 43,200 names.
    if (
        len(time_text) != 12
        or not time_text.isascii()
        or time_text[2] != ":"
        or not (
            time_text[5] == "."
            and time_text[:2].isdigit()
            and time_text[3:5].isdigit()
            and time_text[6:].isdigit()
        )
    ):
        raise MalformedName(f"bad time {time_text!r} in {name!r} (want MM:SS.ffffff)")
    minute, second, micro = int(time_text[:2]), int(time_text[3:5]), int(time_text[6:])
    if minute > 59 or second > 59:
        raise MalformedName(f"bad time {time_text!r} in {name!r}")
    if type_text not in SEGMENT_TYPES:
        raise MalformedName(f"bad segment type {type_text!r} in {name!r}")
    if _HASH_RE.fullmatch(hash_text) is None:
        raise MalformedName(f"bad hash {hash_text!r} in {name!r}")
    start = hour.replace(minute=minute, second=second, microsecond=micro)
    return Segment(
        channel,
        quality,
        start,
        parse_duration(duration_text, name),
        type_text,
        hash_text,
    )


def name_hash(name: str) -> str | None:
    """The hash in a segment name of the usual form, or None (a quick check for ETags)."""
    canonical = _CANONICAL.fullmatch(name)
    return None if canonical is None else canonical[6]


def parse_temp_name(name: str) -> tuple[str, float, str]:
    """Parse a ``temp`` name into (time text, duration, uuid); ``MalformedName`` otherwise."""
    time_text, duration_text, type_text, uuid = _fields(name)
    if type_text != TEMP or _TIME_RE.fullmatch(time_text) is None or not _UUID_RE.fullmatch(uuid):
        raise MalformedName(f"not a temp segment name: {name!r}")
    return time_text, parse_duration(duration_text, name), uuid


def parse_path(path: str) -> Segment:
    """Parse ``CHANNEL/QUALITY/HOUR/NAME`` (relative to the base directory)."""
    parts = path.split("/")
    if len(parts) != 4:
        raise MalformedName(f"segment path needs CHANNEL/QUALITY/HOUR/NAME: {path!r}")
    channel, quality, hour, name = parts
    try:
        check_path_part(channel, "channel")
        check_path_part(quality, "quality")
    except UnsafePath as err:
        raise MalformedName(str(err)) from None
    return parse_name(channel, quality, hour, name)
