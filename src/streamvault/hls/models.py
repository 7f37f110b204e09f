"""Values a parsed HLS playlist is made of. Names keep the words of RFC 8216."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class DateRange:
    """An ``EXT-X-DATERANGE``; ``end`` is None when open (``END-ON-NEXT`` without a next)."""

    id: str
    class_: str
    start: datetime
    end: datetime | None
    end_on_next: bool
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class MediaSegment:
    """One segment of a media playlist.

    ``start`` is its ``EXT-X-PROGRAM-DATE-TIME`` or, without one, the previous start plus the
    previous duration (None when no time is known at all). A dialect's tag handlers set the
    other two: ``in_scte35_break`` is True inside a splice-out/splice-in (ad) break its markers
    bracket; ``prefetch`` marks a segment it lists before it is complete, whose duration is a
    guess (the previous one).
    """

    uri: str
    sequence: int
    duration: float
    title: str
    start: datetime | None
    program_date_time: datetime | None
    discontinuity: bool = False
    in_scte35_break: bool = False
    prefetch: bool = False
    map_uri: str | None = None

    @property
    def end(self) -> datetime | None:
        return None if self.start is None else self.start + timedelta(seconds=self.duration)


@dataclass(frozen=True, slots=True)
class MediaPlaylist:
    target_duration: float
    media_sequence: int
    segments: tuple[MediaSegment, ...]
    date_ranges: tuple[DateRange, ...] = ()
    endlist: bool = False
    tags: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: one line per segment left out (bad EXTINF, a time that overflows)
    rejected: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rendition:
    """An ``EXT-X-MEDIA`` entry."""

    type: str
    group_id: str
    name: str
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Variant:
    """An ``EXT-X-STREAM-INF`` entry with its URI (made absolute) and its attributes."""

    uri: str
    bandwidth: int
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def codecs(self) -> str:
        return self.attributes.get("CODECS", "")

    @property
    def video_group(self) -> str | None:
        return self.attributes.get("VIDEO")


@dataclass(frozen=True, slots=True)
class MasterPlaylist:
    variants: tuple[Variant, ...]
    renditions: tuple[Rendition, ...] = ()

    def rendition_for(self, variant: Variant) -> Rendition | None:
        """The ``TYPE=VIDEO`` rendition whose ``GROUP-ID`` the variant's ``VIDEO`` names."""
        group = variant.video_group
        if group is None:
            return None
        for rendition in self.renditions:
            if rendition.type == "VIDEO" and rendition.group_id == group:
                return rendition
        return None
