"""What to fetch next: the pure core of a worker and of a channel (httpcore style).

``PlaylistTracker`` takes each parsed media playlist of one worker and says which segments are
new, which are ads, whether a timestamp skew appeared and whether the worker now counts as
working. ``SegmentRegistry`` is shared by every worker of a (channel, quality): the first
worker to claim a segment start fetches it, so a replacement worker never duplicates one.
Neither does any I/O; the async worker acts on what they return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..hls.models import MediaPlaylist, MediaSegment
from ..sources.twitch_hls import ad_flags

_KEEP = 300
_REMEMBER = 4096  # URIs and date range IDs a registry remembers
_MAX_CLASSES = 64  # date range classes logged (a hostile origin could invent one per poll)


def _remember(table: dict[str, None], key: str) -> None:
    table[key] = None
    while len(table) > _REMEMBER:
        del table[next(iter(table))]


@dataclass(frozen=True, slots=True)
class Fetch:
    """A segment to download, with its start time and whether it must be stored as suspect."""

    segment: MediaSegment
    start: datetime
    suspect: bool


@dataclass(frozen=True, slots=True)
class Update:
    fetch: list[Fetch] = field(default_factory=list)
    ads: list[tuple[MediaSegment, datetime]] = field(default_factory=list)
    skews: list[MediaSegment] = field(default_factory=list)
    became_working: bool = False
    oldest: datetime | None = None  # start of the playlist's first segment
    rejected: list[str] = field(default_factory=list)  # one line per segment not taken


class PlaylistTracker:
    """Follows one worker's media playlist from poll to poll (keyed by media sequence)."""

    def __init__(self, skew_tolerance: float = 0.010) -> None:
        self.skew_tolerance = skew_tolerance
        self.working = False  # saw a non-ad segment
        self.skewed = False  # saw a skew: everything from then on is suspect
        self.gaps = 0  # forward jumps of a segment or more (the stream was down)
        self._seen: set[datetime] = set()
        self._checked: set[datetime] = set()
        self._last: tuple[float, datetime] | None = None  # (duration, end) of the previous one
        self._guessed: dict[int, datetime] = {}  # starts we had to guess (no program date time)
        self._prefetched: dict[int, datetime] = {}  # sequence -> start of a prefetched segment

    def update(
        self, playlist: MediaPlaylist, now: datetime,
        is_new: Callable[[datetime], bool] = lambda start: True,
        window: tuple[datetime, datetime] | None = None,
    ) -> Update:  # fmt: skip
        """What this playlist adds. ``is_new(start)``: no other worker has taken that segment.

        ``window``: the plausible (earliest, latest) start; a segment outside it (a program
        date time in year 1 or 9999) is rejected, never stored under an hour nothing reads.
        """
        starts = self._starts(playlist, now)
        flags = ad_flags(playlist)
        fetch: list[Fetch] = []
        ads: list[tuple[MediaSegment, datetime]] = []
        skews: list[MediaSegment] = []
        rejected = list(playlist.rejected)
        was_working = self.working
        self._last = None
        kept: list[datetime] = []
        for segment, start, ad in zip(playlist.segments, starts, flags, strict=True):
            if window is not None and not window[0] <= start <= window[1]:
                rejected.append(
                    f"segment {segment.sequence}: start {start.isoformat()} is implausibly "
                    f"far from now ({now.isoformat()})"
                )
                self._last = None
                continue
            kept.append(start)
            if ad:
                self._last = None
                if start not in self._seen:
                    self._seen.add(start)
                    ads.append((segment, start))
                continue
            if not segment.prefetch and self._is_skew(segment, start, is_new):
                self.skewed = True
                skews.append(segment)
            if segment.prefetch:
                self._prefetched.setdefault(segment.sequence, start)
            else:
                self._last = (segment.duration, start + timedelta(seconds=segment.duration))
                if segment.sequence in self._prefetched:
                    self._seen.add(start)  # fetched early; its final time may differ slightly
            self.working = True
            if start not in self._seen:
                self._seen.add(start)
                fetch.append(Fetch(segment, start, self.skewed))
        self._forget(kept, len(playlist.segments))
        oldest = min(kept) if kept else None
        return Update(fetch, ads, skews, self.working and not was_working, oldest, rejected)

    def _is_skew(
        self, segment: MediaSegment, start: datetime, is_new: Callable[[datetime], bool]
    ) -> bool:
        """Whether this start jumps against the previous listed segment's start + duration.

        A forward jump by a whole number of segment durations is a gap upstream (segments
        that were never published: the stream was down), not a skew. Segments another worker
        already took are not judged again, so a replacement worker does not inherit a skew it
        did not see happen.
        """
        if start in self._checked:
            return False
        self._checked.add(start)
        last = self._last
        if segment.program_date_time is None or segment.discontinuity or last is None:
            return False
        if not is_new(start):
            return False
        jump = (start - last[1]).total_seconds()
        if abs(jump) <= self.skew_tolerance:
            return False
        if last[0] > 0 and jump > 0:
            missing = jump / last[0]
            if abs(missing - round(missing)) * last[0] <= self.skew_tolerance:
                self.gaps += 1
                return False
        return True

    def _starts(self, playlist: MediaPlaylist, now: datetime) -> list[datetime]:
        """Every segment's start; without any program date time, chain from what we know."""
        starts: list[datetime | None] = [s.start for s in playlist.segments]
        if all(start is not None for start in starts):
            return starts  # type: ignore[return-value]
        # Anchor on a segment we already placed, else "the playlist ends now".
        segments = playlist.segments
        cursor = now - timedelta(seconds=sum(s.duration for s in segments))
        for index, segment in enumerate(segments):
            if segment.sequence in self._guessed:
                offset = sum(s.duration for s in segments[:index])
                cursor = self._guessed[segment.sequence] - timedelta(seconds=offset)
                break
        filled: list[datetime] = []
        for segment, start in zip(segments, starts, strict=True):
            value = start if start is not None else cursor
            if start is None:
                self._guessed.setdefault(segment.sequence, value)
                value = self._guessed[segment.sequence]
            filled.append(value)
            cursor = value + timedelta(seconds=segment.duration)
        return filled

    def _forget(self, starts: list[datetime], listed: int) -> None:
        """Segments that left the playlist long ago cannot come back: keep memory flat."""
        if len(self._seen) > 2 * listed + _KEEP and starts:
            floor = min(starts) - timedelta(minutes=10)
            self._seen = {s for s in self._seen if s >= floor}
            self._checked = {s for s in self._checked if s >= floor}
        for table in (self._guessed, self._prefetched):
            if len(table) > listed + _KEEP:
                for key in sorted(table)[: len(table) - listed - _KEEP // 2]:
                    del table[key]


class SegmentRegistry:
    """Segment starts already claimed by some worker of one (channel, quality)."""

    def __init__(self) -> None:
        self._claimed: dict[datetime, None] = {}
        self._ads: dict[datetime, None] = {}
        self._uris: dict[str, None] = {}  # recent segment URIs (without query), FIFO-bounded
        self._ranges: dict[str, None] = {}  # recent non-ad date range IDs, FIFO-bounded
        self._classes: set[str] = set()

    def claim(self, start: datetime, uri: str | None = None) -> bool:
        """True for the first caller: it must fetch the segment; later callers must not.

        Also by URI (without its query): a replacement worker that must guess starts (no
        program date times) guesses other ones, but sees the same URIs."""
        key = uri.split("?", 1)[0] if uri else None
        if start in self._claimed or (key is not None and key in self._uris):
            return False
        self._claimed[start] = None
        if key is not None:
            _remember(self._uris, key)
        return True

    def note_range(self, id: str) -> bool:
        """True the first time a (non-ad) date range ``id`` is seen."""
        if id in self._ranges:
            return False
        _remember(self._ranges, id)
        return True

    def note_class(self, class_: str) -> bool:
        """True the first time a date range class is seen (it is logged once)."""
        if class_ in self._classes or len(self._classes) >= _MAX_CLASSES:
            return False
        self._classes.add(class_)
        return True

    @property
    def classes(self) -> frozenset[str]:
        """The date range classes counted (at most ``_MAX_CLASSES``: labels stay bounded)."""
        return frozenset(self._classes)

    def is_claimed(self, start: datetime) -> bool:
        return start in self._claimed

    def note_ad(self, start: datetime) -> bool:
        """True the first time an ad segment starting at ``start`` is seen."""
        if start in self._ads:
            return False
        self._ads[start] = None
        return True

    def forget_before(self, cutoff: datetime) -> None:
        """Drop entries older than ``cutoff`` (oldest first: they were added about in order)."""
        for table in (self._claimed, self._ads):
            while table:
                first = next(iter(table))
                if first >= cutoff:
                    break
                del table[first]

    def __len__(self) -> int:
        return len(self._claimed)
