"""The segment store on disk: atomic writes and listings (SPEC §3).

This is the I/O shell around :mod:`naming`. Every file appears under its final name only
after its bytes are written, flushed and fsynced under a ``temp`` name in the same directory,
so a reader never sees a half-written file, not after ``kill -9`` and not after a full disk.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..clock import SystemClock
from ..errors import DiskFull, MalformedName, StoreError
from ..timeutil import hour_name, parse_hour
from .chat_naming import CHAT_SUFFIX, ChatBatch, parse_batch_name
from .naming import (
    TOMBSTONE_SUFFIX,
    Segment,
    canonical_tombstone,
    check_path_part,
    encode_hash,
    file_stem,
    is_legacy_tombstone_name,
    is_temp_name,
    is_tombstone_name,
    parse_name,
    temp_name,
    tombstone_name,
    tombstone_stem,
)

log = logging.getLogger(__name__)

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
#: wubloader's backfiller writes chat batches as ``NAME.UUID.temp`` before renaming them.
_FOREIGN_TEMP_SUFFIX = ".temp"


def _translate(err: OSError, what: str) -> StoreError:
    if err.errno in _FULL_ERRNOS:
        return DiskFull(err.errno, f"disk full while {what}")
    return StoreError(err.errno, f"{what}: {err.strerror or err}")


def ensure_dir(path: str) -> None:
    """Create a directory and its parents; safe when several writers race to do it."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise _translate(err, f"creating {path}") from err


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte: ``os.write`` may write fewer bytes than asked."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


#: writev() takes at most this many buffers per call.
_IOV_MAX = os.sysconf("SC_IOV_MAX")


def writev_all(fd: int, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
    """Write every byte of ``chunks`` in order, with as few system calls as the kernel allows.

    Writing the received chunks as they are, instead of joining them first, saves a copy and,
    more costly, the page faults of a fresh megabyte-sized buffer for every segment.
    """
    views = [memoryview(chunk) for chunk in chunks]
    while views:
        batch = views[:_IOV_MAX]
        written = os.writev(fd, batch)
        done = 0
        for view in batch:
            if written < len(view):
                break
            written -= len(view)
            done += 1
        views = views[done:]
        if views and written:
            views[0] = views[0][written:]


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


#: A temp file untouched this long (seconds) belongs to no live writer: every download
#: attempt in streamvault ends well within it.
STALE_TEMP_SECONDS = 600.0


class TempFile:
    """A file being written under a temporary name, hashed as it goes.

    ``commit(name)`` makes it appear under its final name; ``discard()`` removes it. Use as a
    context manager: leaving the block without ``commit`` discards.
    """

    def __init__(self, directory: str, name: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, name)
        self.size = 0
        self._hasher = hashlib.sha256()
        self._done = False
        #: True once the file is gone (discarded, or a write failed): nothing left to commit.
        self.discarded = False
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            try:
                self._fd = os.open(self.path, flags, 0o644)
            except FileNotFoundError:
                # The directory is new (or was removed): only then pay for makedirs.
                ensure_dir(directory)
                self._fd = os.open(self.path, flags, 0o644)
        except StoreError:
            raise
        except OSError as err:
            raise _translate(err, f"creating {self.path}") from err

    def write(self, data: bytes | bytearray | memoryview) -> None:
        try:
            write_all(self._fd, data)
        except OSError as err:
            self.discard()
            raise _translate(err, f"writing {self.path}") from err
        self._hasher.update(data)
        self.size += len(data)

    def write_chunks(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        """Like :meth:`write` for each chunk in turn, with one ``writev`` call."""
        try:
            writev_all(self._fd, chunks)
        except OSError as err:
            self.discard()
            raise _translate(err, f"writing {self.path}") from err
        for chunk in chunks:
            self._hasher.update(chunk)
            self.size += len(chunk)

    @property
    def hash(self) -> str:
        return encode_hash(self._hasher.digest())

    def commit(self, name: str) -> str:
        """fsync and rename to ``name`` in the same directory; returns the final path."""
        final = os.path.join(self.directory, name)
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._done = True
            os.rename(self.path, final)
        except OSError as err:
            self.discard()
            raise _translate(err, f"saving {final}") from err
        _fsync_dir(self.directory)
        return final

    def discard(self) -> None:
        self.discarded = True
        if not self._done:
            self._done = True
            try:
                os.close(self._fd)
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as err:
            log.warning("could not remove temp file %s: %s", self.path, err)

    def __enter__(self) -> TempFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done or os.path.exists(self.path):
            self.discard()


def atomic_write(path: str, data: bytes) -> None:
    """Write a whole file atomically (temp name in the same directory, fsync, rename)."""
    directory, name = os.path.split(path)
    with TempFile(directory, f".{name}.{uuid.uuid4().hex}.tmp") as temp:
        temp.write(data)
        temp.commit(name)


class SegmentStore:
    """A base directory of ``CHANNEL/QUALITY/HOUR/NAME`` segment files."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = os.path.abspath(base_dir)

    def hour_dir(self, channel: str, quality: str, hour: str) -> str:
        check_path_part(channel, "channel")
        check_path_part(quality, "quality")
        check_path_part(hour, "hour")
        return os.path.join(self.base_dir, channel, quality, hour)

    # --- writing ---------------------------------------------------------------------------

    def open_segment(
        self, channel: str, quality: str, start: datetime, duration: float
    ) -> TempFile:
        """Start writing a segment; finish with :meth:`commit_segment`."""
        directory = self.hour_dir(channel, quality, hour_name(start))
        return TempFile(directory, temp_name(start, duration, str(uuid.uuid4())))

    def commit_segment(
        self,
        temp: TempFile,
        channel: str,
        quality: str,
        start: datetime,
        duration: float,
        type: str,
    ) -> Segment:
        segment = Segment(channel, quality, start, duration, type, temp.hash, temp.size)  # type: ignore[arg-type]
        temp.commit(segment.name)
        return segment

    def write_segment(
        self,
        channel: str,
        quality: str,
        start: datetime,
        duration: float,
        type: str,
        data: bytes,
    ) -> Segment:
        """Write a whole segment at once (tests, backfill of small files)."""
        with self.open_segment(channel, quality, start, duration) as temp:
            temp.write(data)
            return self.commit_segment(temp, channel, quality, start, duration, type)

    def write_tombstone(self, item: Segment | ChatBatch) -> None:
        """Hide a segment (or chat batch): an empty ``X.tombstone`` beside ``X.ts``."""
        directory = self.hour_dir(item.channel, item.quality, item.hour)
        atomic_write(os.path.join(directory, tombstone_name(item.name)), b"")

    def open_copy(self, item: Segment | ChatBatch) -> TempFile:
        """Start writing a copy of ``item`` under a name every reader ignores; finish with
        ``commit(item.name)``."""
        if isinstance(item, Segment):
            return self.open_segment(item.channel, item.quality, item.start, item.duration)
        directory = self.hour_dir(item.channel, item.quality, item.hour)
        return TempFile(directory, f".{item.name}.{uuid.uuid4().hex}.tmp")

    # --- listing ---------------------------------------------------------------------------

    def channels(self) -> list[str]:
        return _visible_dirs(self.base_dir, exclude={"coverage-maps"})

    def qualities(self, channel: str) -> list[str]:
        check_path_part(channel, "channel")
        return _visible_dirs(os.path.join(self.base_dir, channel))

    def hours(self, channel: str, quality: str) -> list[str]:
        check_path_part(channel, "channel")
        check_path_part(quality, "quality")
        names = []
        for name in _visible_dirs(os.path.join(self.base_dir, channel, quality)):
            try:
                parse_hour(name)
            except ValueError:
                continue
            names.append(name)
        return names

    def segment_names(
        self, channel: str, quality: str, hour: str, tombstones: bool = False
    ) -> list[str]:
        """File names in an hour: segments (never temp, never hidden), and tombstones if asked."""
        listing = list_hour(self.hour_dir(channel, quality, hour))
        names = listing.visible + listing.chat
        if tombstones:
            names.extend(listing.tombstones)
        return sorted(names)

    def segments(self, channel: str, quality: str, hour: str) -> HourListing:
        """Parsed listing of an hour: visible segments, bad names and tombstones."""
        return list_hour(self.hour_dir(channel, quality, hour), channel, quality, hour)

    def segment_path(self, segment: Segment | ChatBatch) -> str:
        return os.path.join(
            self.hour_dir(segment.channel, segment.quality, segment.hour), segment.name
        )

    # --- maintenance -----------------------------------------------------------------------

    def remove_stale_temp_files(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Remove ``temp`` segments left by a crash: those untouched for ``older_than`` seconds.

        Run at start-up. Younger ones may belong to a live writer sharing the store (a
        backfiller or another downloader); no download may take longer than the default
        (a downloader attempt is at most 60 + 240 s, a backfill copy 300 s)."""
        removed = 0
        cutoff = time.time() - older_than  # the file system's time: compared with mtimes
        for directory in self._hour_dirs():
            for entry in _scandir(directory):
                if _is_stale_temp(entry.name) and _older(entry, cutoff):
                    try:
                        os.unlink(entry.path)
                        removed += 1
                    except OSError as err:
                        log.warning("could not remove stale temp file %s: %s", entry.path, err)
        if removed:
            log.info("removed %d stale temp files from %s", removed, self.base_dir)
        return removed

    def _hour_dirs(self) -> Iterable[str]:
        for channel in self.channels():
            for quality in self.qualities(channel):
                for hour in self.hours(channel, quality):
                    yield os.path.join(self.base_dir, channel, quality, hour)

    def upgrade_tombstones(self) -> int:
        """Rename legacy ``X.ts.tombstone`` files to the canonical ``X.tombstone`` (SPEC §3).

        Run at start-up. Returns how many were renamed (a legacy one whose canonical twin
        already exists is removed and counted too); logs one INFO line when there were any.
        """
        renamed = 0
        for directory in self._hour_dirs():
            here = 0
            for name in (entry.name for entry in _scandir(directory)):
                if not is_legacy_tombstone_name(name) or name.startswith("."):
                    continue
                old = os.path.join(directory, name)
                new = os.path.join(directory, canonical_tombstone(name))
                try:
                    if os.path.exists(new):
                        os.unlink(old)
                    else:
                        os.rename(old, new)
                    here += 1
                except OSError as err:
                    log.warning("could not rename tombstone %s: %s", old, err)
            if here:
                _fsync_dir(directory)
                renamed += here
        if renamed:
            log.info(
                "renamed %d tombstones to the canonical NAME.tombstone form in %s",
                renamed,
                self.base_dir,
            )
        return renamed


def _older(entry: os.DirEntry[str], cutoff: float) -> bool:
    """A regular file last written before ``cutoff`` (Unix seconds)."""
    try:
        return entry.is_file() and entry.stat().st_mtime < cutoff
    except OSError:
        return False


@dataclass(slots=True)
class HourListing:
    """What one hour directory holds."""

    segments: list[Segment] = field(default_factory=list)
    visible: list[str] = field(default_factory=list)  # names of visible segment files
    tombstones: list[str] = field(default_factory=list)  # tombstone names, canonical form
    bad: list[str] = field(default_factory=list)  # names that do not parse
    chat: list[str] = field(default_factory=list)  # names of visible chat batch files
    batches: list[ChatBatch] = field(default_factory=list)  # parsed chat batches


def _is_stale_temp(name: str) -> bool:
    """A segment's ``temp`` name, or the hidden ``.NAME.UUID.tmp`` of another copy."""
    return is_temp_name(name) or (name.startswith(".") and name.endswith(".tmp"))


class UnreadableWarnings:
    """One WARNING per unreadable path (a root-owned ``lost+found`` when running
    unprivileged, a directory with broken permissions), then silence for ``quiet`` seconds:
    such a path is skipped on every scan, and a log line per scan would flood the log."""

    def __init__(self, quiet: float = 3600.0, remember: int = 1024) -> None:
        self.quiet = quiet
        self.remember = remember
        self._clock = SystemClock()
        self._last: dict[str, float] = {}

    def warn(self, path: str, err: OSError) -> None:
        now = self._clock.monotonic()
        last = self._last.get(path)
        if last is not None and now - last < self.quiet:
            return
        if len(self._last) >= self.remember:
            self._last = {p: t for p, t in self._last.items() if now - t < self.quiet}
            if len(self._last) >= self.remember:
                return  # a flood of unreadable paths: the first ones were logged
        self._last[path] = now
        log.warning("skipping %s: %s", path, err.strerror or err)


UNREADABLE = UnreadableWarnings()


def _scandir(path: str | int, shown: str = "") -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        UNREADABLE.warn(shown or str(path), err)
        return []


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    """A directory, not a symlink to one (nothing in the store follows symlinks)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _visible_dirs(path: str, exclude: set[str] | None = None) -> list[str]:
    names = [
        entry.name
        for entry in _scandir(path)
        if not entry.name.startswith(".")
        and entry.name not in (exclude or ())
        and _is_real_dir(entry)
    ]
    return sorted(names)


def _listable_names(directory: str | int, shown: str) -> list[str]:
    """Names in a directory, without symlinks (served by no route, so listed by none)."""
    return [entry.name for entry in _scandir(directory, shown) if not entry.is_symlink()]


def list_hour(
    directory: str | int,
    channel: str = "",
    quality: str = "",
    hour: str | None = None,
    shown: str = "",
) -> HourListing:
    """List an hour directory (a path, or an open descriptor): hidden (``.``), ``temp`` and
    tombstoned files and symlinks are left out; an unreadable directory lists nothing (with
    one warning, ``shown`` naming it).

    A tombstone ``X.tombstone`` (or the legacy ``X.ts.tombstone``) hides every ``X.EXT``, as
    on wubloader nodes; tombstones are listed in the canonical form. Chat batches (``.json``)
    go to ``chat``. Names are parsed only when ``hour`` is given; those that do not parse go
    to ``bad``.
    """
    listing = HourListing()
    names: list[str] = []
    json_names: list[str] = []
    hidden: set[str] = set()  # stems hidden by a tombstone
    for name in _listable_names(directory, shown):
        if name.endswith(".ts") and name[0] != "." and "-temp-" not in name:
            names.append(name)  # the usual case first: a segment (cheap checks, runs hot)
        elif name.startswith("."):
            continue
        elif is_tombstone_name(name):
            hidden.add(tombstone_stem(name))
        elif name.endswith(CHAT_SUFFIX):
            json_names.append(name)
        elif not is_temp_name(name) and not name.endswith(_FOREIGN_TEMP_SUFFIX):
            names.append(name)
    listing.tombstones = sorted(stem + TOMBSTONE_SUFFIX for stem in hidden)
    hour_start = parse_hour(hour) if hour is not None else None
    for name in names:
        if hidden and file_stem(name) in hidden:
            continue
        if hour_start is not None:
            try:
                listing.segments.append(parse_name(channel, quality, hour_start, name))
            except MalformedName:
                listing.bad.append(name)
                continue
        listing.visible.append(name)
    for name in json_names:
        if hidden and file_stem(name) in hidden:
            continue
        if hour is not None:
            try:
                listing.batches.append(parse_batch_name(channel, hour, name))
            except MalformedName:
                listing.bad.append(name)
                continue
        listing.chat.append(name)
    return listing
