"""Chat batches on disk: atomic writes, listings, the merge of duplicate batches, reading a
range (SPEC §3, §14). Blocking I/O: the async shells call it through ``asyncio.to_thread``.

``BASE/CHANNEL/chat/HOUR/MM:SS-HASH.json``. A batch is written under a hidden temp name,
fsynced, then renamed; a name that exists already holds the same bytes (its hash says so)
and is left alone. The merge writes the merged batches first and only then removes the files
it read, so a crash at any point loses nothing (at worst a duplicate remains to merge).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import MalformedName
from ..store.chat_naming import (
    BATCH_SECONDS,
    CHAT_QUALITY,
    CHAT_SUFFIX,
    batch_name_for,
    parse_batch_name,
)
from ..store.disk import atomic_write
from ..timeutil import hour_name, hours_between, parse_hour, to_seconds
from .batches import batch_datetime, batch_time, decode_batch, encode_batch
from .merge import merge_all
from .messages import Message

log = logging.getLogger(__name__)

#: a merge pass stops after this many rounds even if merging keeps moving messages around
MAX_MERGE_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class WrittenBatch:
    path: str
    messages: int
    size: int
    new: bool


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


class ChatStore:
    def __init__(self, base_dir: str) -> None:
        self.base_dir = os.path.abspath(base_dir)

    def chat_dir(self, channel: str) -> str:
        return os.path.join(self.base_dir, channel, CHAT_QUALITY)

    def has_channel(self, channel: str) -> bool:
        return os.path.isdir(os.path.join(self.base_dir, channel))

    # -- writing -----------------------------------------------------------------------------

    def write(self, channel: str, messages: Iterable[Message]) -> list[WrittenBatch]:
        """Write ``messages`` as batches, each in the batch its (final) time falls in."""
        by_start: dict[int, list[Message]] = {}
        for message in messages:
            by_start.setdefault(batch_time(message["time"]), []).append(message)
        return [self._write_one(channel, start, batch) for start, batch in by_start.items()]

    def _write_one(self, channel: str, start: int, messages: list[Message]) -> WrittenBatch:
        content = encode_batch(messages)
        when = batch_datetime(start)
        name = batch_name_for(when, content)
        path = os.path.join(self.chat_dir(channel), hour_name(when), name)
        if os.path.exists(path):
            return WrittenBatch(path, len(messages), len(content), new=False)
        atomic_write(path, content)
        log.debug("[%s] wrote chat batch %s (%d messages)", channel, path, len(messages))
        return WrittenBatch(path, len(messages), len(content), new=True)

    def remove_stale_temp_files(self, channel: str) -> int:
        """Temp files (hidden names) a crash left in the chat hour directories."""
        removed = 0
        for hour in _listdir(self.chat_dir(channel)):
            directory = os.path.join(self.chat_dir(channel), hour)
            for name in _listdir(directory):
                if name.startswith(".") and name.endswith(".tmp"):
                    try:
                        os.unlink(os.path.join(directory, name))
                        removed += 1
                    except OSError as err:
                        log.warning("could not remove stale temp file %s: %s", name, err)
        return removed

    # -- listing -----------------------------------------------------------------------------

    def hours(self, channel: str) -> list[str]:
        hours = []
        for name in _listdir(self.chat_dir(channel)):
            try:
                parse_hour(name)
            except ValueError:
                continue
            hours.append(name)
        return sorted(hours)

    def batch_files(self, channel: str, hours: Iterable[str]) -> dict[int, list[str]]:
        """Batch start (epoch seconds) -> paths of its files, for the given hours."""
        found: dict[int, list[str]] = {}
        for hour in hours:
            directory = os.path.join(self.chat_dir(channel), hour)
            for name in _listdir(directory):
                if name.startswith(".") or not name.endswith(CHAT_SUFFIX):
                    continue
                try:
                    batch = parse_batch_name(channel, hour, name)
                except MalformedName:
                    continue
                start = int(to_seconds(batch.start))
                found.setdefault(start, []).append(os.path.join(directory, name))
        for paths in found.values():
            paths.sort()
        return found

    def read_file(self, path: str) -> list[Message]:
        with open(path, "rb") as f:
            return decode_batch(f.read())

    def _read_all(self, paths: Iterable[str]) -> tuple[list[list[Message]], list[str]]:
        """The messages of each readable file, and the paths read (a file merged away since
        it was listed is skipped; a file that does not parse is logged and left alone)."""
        lists, read = [], []
        for path in paths:
            try:
                lists.append(self.read_file(path))
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as err:
                log.warning("chat batch %s cannot be read, left as it is: %s", path, err)
                continue
            read.append(path)
        return lists, read

    # -- merging -----------------------------------------------------------------------------

    def merge_batch(self, channel: str, start: int, files: dict[int, list[str]]) -> None:
        """Merge the files of batch ``start`` and of its neighbours (a merged message's time
        can move into the next batch) and replace them with the result."""
        paths = [
            p
            for t in (start - BATCH_SECONDS, start, start + BATCH_SECONDS)
            for p in files.get(t, [])
        ]
        lists, read = self._read_all(paths)
        written = {w.path for w in self.write(channel, merge_all(lists))}
        for path in read:
            if path not in written:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def merge_duplicates(self, channel: str, hours: Iterable[str] | None = None) -> int:
        """Merge every batch time that has more than one file; returns how many merges."""
        hour_list = list(hours) if hours is not None else self.hours(channel)
        merges = 0
        for _ in range(MAX_MERGE_ROUNDS):
            # neighbours of the first and last hour live in the next and previous hour
            files = self.batch_files(channel, _with_neighbours(hour_list))
            duplicated = sorted(start for start, paths in files.items() if len(paths) > 1)
            if not duplicated:
                return merges
            for start in duplicated:
                if len(files.get(start, ())) < 2:
                    continue  # merged already, as a neighbour of the one before
                self.merge_batch(channel, start, files)
                merges += 1
                fresh = self.batch_files(channel, _hours_around(start))
                for t in (start - BATCH_SECONDS, start, start + BATCH_SECONDS):
                    files[t] = fresh.get(t, [])
        log.warning("[%s] chat merge still finds duplicates after %d rounds", channel, merges)
        return merges

    # -- reading a range ---------------------------------------------------------------------

    def messages_between(self, channel: str, start: datetime, end: datetime) -> list[Message]:
        """Merged messages whose time range meets [start, end): ending at or after ``start``
        and starting before ``end`` (so untimed ones can show in two adjacent ranges), in
        order of (time, time_range)."""
        # a message with a wide range can sit in an earlier batch than the range's start
        hours = hours_between(
            start - timedelta(seconds=2 * BATCH_SECONDS), end + timedelta(seconds=BATCH_SECONDS)
        )
        files = self.batch_files(channel, hours)
        low, high = to_seconds(start), to_seconds(end)
        first, last = batch_time(low) - 2 * BATCH_SECONDS, batch_time(high) + BATCH_SECONDS
        paths = [p for t in sorted(files) if first <= t <= last for p in files[t]]
        lists, _ = self._read_all(paths)
        merged = [
            m for m in merge_all(lists) if low <= m["time"] + m["time_range"] and m["time"] < high
        ]
        merged.sort(key=lambda m: (m["time"], m["time_range"]))
        return merged


def _hours_around(start: int) -> list[str]:
    when = batch_datetime(start)
    return hours_between(
        when - timedelta(seconds=BATCH_SECONDS), when + timedelta(seconds=BATCH_SECONDS)
    )


def _with_neighbours(hours: list[str]) -> list[str]:
    names = set(hours)
    for hour in hours:
        start = parse_hour(hour)
        names.add(hour_name(start - timedelta(hours=1)))
        names.add(hour_name(start + timedelta(hours=1)))
    return sorted(names)
