"""The restreamer's view of the store: safe paths, cached listings, segments for a range.

Synchronous I/O: handlers call these methods in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import UnsafePath
from ..store.disk import SegmentStore
from ..store.naming import Segment, check_path_part
from ..store.select import hours_for_range
from ..timeutil import hour_name, parse_hour
from .cache import CachedHour, HourListingCache, ResultCache, Version, directory_version
from .probe import VideoInfos


class NotFound(LookupError):
    """An unknown channel, quality, hour or file (HTTP 404)."""


class NotAcceptable(Exception):
    """The range holds holes (without ``allow_holes=true``) or no video at all (HTTP 406)."""


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
        self.base_dir = os.path.realpath(store.base_dir)
        self.listings = HourListingCache()
        self.results = ResultCache()
        self.videos = VideoInfos()  # what each quality's video is, for master playlists
        self._safe_dirs: dict[tuple[str, ...], str] = {}

    def path(self, *parts: str) -> str:
        """Join path parts under the base directory, refusing any way out of it.

        Parts starting with ``.`` or holding separators are refused, and so is a path whose
        real location (symlinks resolved) is not inside the base directory.
        """
        for part in parts:
            check_path_part(part)
        joined = os.path.join(self.base_dir, *parts)
        real = os.path.realpath(joined)
        if real != self.base_dir and not real.startswith(self.base_dir + os.sep):
            raise UnsafePath(f"path leaves the base directory: {'/'.join(parts)!r}")
        return joined

    def open_file(self, channel: str, quality: str, hour: str, name: str) -> tuple[int, str]:
        """Open a file of an hour directory for reading: a descriptor the caller closes, and the
        path. Never through a symlink.

        The directory's check (:meth:`path`) is remembered, so serving segments costs no
        ``realpath`` each time; the file itself is opened with ``O_NOFOLLOW``.
        """
        key = (channel, quality, hour)
        directory = self._safe_dirs.get(key)
        if directory is None:
            directory = self.path(channel, quality, hour)
            if len(self._safe_dirs) >= 4096:
                self._safe_dirs.clear()
            self._safe_dirs[key] = directory
        check_path_part(name)
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise UnsafePath(f"not following a symlink: {name!r}") from None
            raise
        return fd, path

    def is_dir(self, *parts: str) -> bool:
        return os.path.isdir(self.path(*parts))

    def require_stream(self, channel: str, quality: str) -> None:
        if not self.is_dir(channel):
            raise NotFound(f"unknown channel {channel!r}")
        if not self.is_dir(channel, quality):
            raise NotFound(f"unknown quality {quality!r} of channel {channel!r}")

    def channels(self) -> list[str]:
        return [c for c in self.store.channels() if self._inside(c)]

    def qualities(self, channel: str) -> list[str]:
        self.path(channel)
        return [q for q in self.store.qualities(channel) if self._inside(channel, q)]

    def hours(self, channel: str, quality: str, wanted: Collection[str] | None = None) -> list[str]:
        self.path(channel, quality)
        return [
            hour
            for hour in self.store.hours(channel, quality)
            if (wanted is None or hour in wanted) and self._inside(channel, quality, hour)
        ]

    def _inside(self, *parts: str) -> bool:
        try:
            self.path(*parts)
        except UnsafePath:
            return False
        return True

    def hour_names(self, channel: str, quality: str, hour: str, tombstones: bool) -> list[str]:
        parse_hour(hour)
        listing = self.listings.get(self.path(channel, quality, hour), channel, quality, hour)
        names = listing.visible + listing.chat
        if tombstones:
            names.extend(listing.tombstones)
        return sorted(names)

    def segments(self, channel: str, quality: str, hours: list[str]) -> list[Segment]:
        found: list[Segment] = []
        for hour in hours:
            directory = self.path(channel, quality, hour)
            found.extend(self.listings.get(directory, channel, quality, hour).segments)
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
        cached = [
            (
                hour,
                self.listings.get_cached(self.path(channel, quality, hour), channel, quality, hour),
            )
            for hour in hours
        ]
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
        try:
            return os.stat(self.segment_path(segment)).st_size
        except OSError:
            return 0

    def segment_path(self, segment: Segment) -> str:
        return self.path(segment.channel, segment.quality, segment.hour, segment.name)
