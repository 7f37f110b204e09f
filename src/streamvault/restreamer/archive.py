"""The restreamer's view of the store: safe paths, cached listings, segments for a range.

Synchronous I/O: handlers call these methods in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import NotFound
from ..store import safeopen
from ..store.disk import UNREADABLE, SegmentStore
from ..store.naming import Segment, check_path_part
from ..store.select import hours_for_range
from ..timeutil import hour_name, parse_hour
from .cache import EMPTY_HOUR, CachedHour, HourListingCache, ResultCache, Version, directory_version
from .probe import VideoInfos


@dataclass(frozen=True, slots=True)
class HourSpan:
    """The hour names :func:`~streamvault.store.select.hours_for_range` gives, as a container
    tested by comparison (hour names sort as times), so a range of years costs nothing."""

    start: datetime
    end: datetime

    def __contains__(self, hour: object) -> bool:
        first = hour_name(self.start - timedelta(hours=1))
        return isinstance(hour, str) and first <= hour <= hour_name(self.end)

    def __len__(self) -> int:
        return len(hours_for_range(self.start, self.end))

    def __iter__(self) -> Iterator[str]:
        return iter(hours_for_range(self.start, self.end))


@dataclass(frozen=True, slots=True)
class RangeListing:
    """The segments of the hours around a range, and what their directories looked like."""

    segments: list[Segment]
    hours: list[tuple[str, CachedHour]]
    versions: tuple[Version, ...]

    def entries(self, base_uri: str) -> dict[int, str]:
        merged: dict[int, str] = {}
        for hour, cached in self.hours:
            merged.update(cached.entries(base_uri, hour))
        return merged


class Archive:
    def __init__(self, store: SegmentStore) -> None:
        self.store = store
        self.base_dir = store.base_dir
        self.listings = HourListingCache()
        self.results = ResultCache()
        self.videos = VideoInfos()  # what each quality's video is, for master playlists

    def path(self, *parts: str) -> str:
        """Join path parts under the base directory, refusing parts that start with ``.``,
        hold separators or are too long. Only a name: opening goes through :mod:`safeopen`,
        which refuses symlinks on the way."""
        for part in parts:
            check_path_part(part)
        return os.path.join(self.base_dir, *parts)

    def open_file(self, channel: str, quality: str, hour: str, name: str) -> tuple[int, str]:
        """Open a file of an hour directory for reading: a descriptor the caller closes, and the
        path. Never through a symlink, checked as it is opened (``O_NOFOLLOW`` at each part).

        Raises ``OSError`` (:func:`~streamvault.store.safeopen.is_refused` for "not here").
        """
        path = self.path(channel, quality, hour, name)
        return safeopen.open_file(self.base_dir, (channel, quality, hour, name)), path

    def is_dir(self, *parts: str) -> bool:
        self.path(*parts)
        return safeopen.is_real_dir(self.base_dir, parts)

    def require_stream(self, channel: str, quality: str) -> None:
        if not self.is_dir(channel):
            raise NotFound(f"unknown channel {channel!r}")
        if not self.is_dir(channel, quality):
            raise NotFound(f"unknown quality {quality!r} of channel {channel!r}")

    def channels(self) -> list[str]:
        return self.store.channels()

    def qualities(self, channel: str) -> list[str]:
        self.path(channel)
        return self.store.qualities(channel) if self.is_dir(channel) else []

    def hours(self, channel: str, quality: str, wanted: Collection[str] | None = None) -> list[str]:
        self.path(channel, quality)
        if not self.is_dir(channel, quality):
            return []
        return [
            hour for hour in self.store.hours(channel, quality) if wanted is None or hour in wanted
        ]

    def hour_listing(self, channel: str, quality: str, hour: str) -> CachedHour:
        """The cached listing of an hour directory, opened through no symlink (an hour that
        is missing, a symlink or unreadable lists nothing)."""
        directory = self.path(channel, quality, hour)
        try:
            fd = safeopen.open_dir(self.base_dir, (channel, quality, hour))
        except OSError as err:
            if not safeopen.is_refused(err) or err.errno in (errno.EACCES, errno.EPERM):
                UNREADABLE.warn(directory, err)
            return EMPTY_HOUR
        try:
            return self.listings.get_cached(directory, channel, quality, hour, fd)
        finally:
            os.close(fd)

    def hour_names(self, channel: str, quality: str, hour: str, tombstones: bool) -> list[str]:
        parse_hour(hour)
        listing = self.hour_listing(channel, quality, hour).listing
        names = listing.visible + listing.chat
        if tombstones:
            names.extend(listing.tombstones)
        return sorted(names)

    def segments(self, channel: str, quality: str, hours: list[str]) -> list[Segment]:
        found: list[Segment] = []
        for hour in hours:
            found.extend(self.hour_listing(channel, quality, hour).listing.segments)
        return found

    def segments_for_range(
        self, channel: str, quality: str, start: datetime, end: datetime
    ) -> list[Segment]:
        """Every visible segment of the hours that can hold ``[start, end)``."""
        return self.range_listing(channel, quality, start, end).segments

    def range_listing(
        self, channel: str, quality: str, start: datetime, end: datetime
    ) -> RangeListing:
        quality_version = directory_version(self.path(channel, quality))
        hours = self.hours(channel, quality, HourSpan(start, end))
        cached = [(hour, self.hour_listing(channel, quality, hour)) for hour in hours]
        segments = [segment for _, entry in cached for segment in entry.listing.segments]
        versions = (quality_version, *(entry.version for _, entry in cached))
        return RangeListing(segments, cached, versions)

    def earliest(self, channel: str, quality: str, end: datetime | None) -> datetime | None:
        """Start of the first segment of the stream (before ``end`` if given)."""
        for hour in self.hours(channel, quality):
            if end is not None and parse_hour(hour) > end:
                break
            segments = self.segments(channel, quality, [hour])
            if segments:
                return min(segment.start for segment in segments)
        return None

    def latest(self, channel: str, quality: str) -> datetime | None:
        """Start of the newest segment of the stream."""
        for hour in reversed(self.hours(channel, quality)):
            segments = self.segments(channel, quality, [hour])
            if segments:
                return max(segment.start for segment in segments)
        return None

    def size_of(self, segment: Segment) -> int:
        """The file's size (0 when it is gone, or is not a regular file: a symlink)."""
        try:
            info = os.lstat(self.segment_path(segment))
        except OSError:
            return 0
        return info.st_size if stat.S_ISREG(info.st_mode) else 0

    def segment_path(self, segment: Segment) -> str:
        return self.path(segment.channel, segment.quality, segment.hour, segment.name)
