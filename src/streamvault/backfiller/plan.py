"""What to replicate (SPEC §8). Pure: listings and a ``now`` in, decisions out; no I/O.

Two decisions live here:

- :func:`hours_to_check`: which hour directories a pass looks at — the union of the hours
  every peer lists for every configured quality, within ``start``, recent hours on every pass
  and older ones only on a full pass, newest first (``reverse``) or oldest first (``forward``).
- :func:`plan_hour`: given the local and one remote listing of an hour, the segments (or chat
  batches) to fetch, the tombstones to create and the names that cannot be used.
- :func:`plan_extras`: the files of an extra directory to fetch, and the paths refused.

Neither ever mutates the collections it is given.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ..errors import BadTime, MalformedName, UnsafePath
from ..store.chat_naming import CHAT_QUALITY, CHAT_SUFFIX, ChatBatch, parse_batch_name
from ..store.extras import check_extra_path
from ..store.naming import (
    SUFFIX,
    Segment,
    canonical_tombstone,
    file_stem,
    is_temp_name,
    is_tombstone_name,
    parse_name,
    tombstone_stem,
)
from ..timeutil import floor_hour, parse_hour

Order = Literal["forward", "reverse"]
ORDERS: tuple[Order, ...] = ("forward", "reverse")

#: Two files whose starts differ by no more than this are the same segment (SPEC §8).
START_TOLERANCE = timedelta(milliseconds=1)
#: A remote name that starts later than this after ``now`` is not plausible: clocks of nodes
#: agree far better than that, so it is a bad name, never a copy to wait for.
FUTURE_TOLERANCE = timedelta(minutes=5)
#: Segments younger than this are left to the local downloader (SPEC §8).
DEFAULT_RECENT_CUTOFF = timedelta(seconds=60)


#: What a pass copies: a video segment, or a chat batch (quality ``chat``, SPEC §8).
Replica = Segment | ChatBatch


@dataclass(frozen=True, slots=True)
class HourPlan:
    """What one remote listing of an hour asks of this node."""

    fetch: tuple[Replica, ...] = ()  # files to copy, in time order
    tombstones: tuple[Replica, ...] = ()  # files to hide here (tombstones to create)
    too_recent: tuple[Replica, ...] = ()  # missing but younger than the cut-off
    #: full segments whose start and duration match a local full one of another hash: a
    #: disagreement (SPEC §15), left to hash consensus instead of copied beside it
    disputed: tuple[Segment, ...] = ()
    bad: tuple[str, ...] = ()  # remote names this node cannot use (logged and counted)
    future: tuple[str, ...] = ()  # names that start in the future: no honest peer lists them

    @property
    def empty(self) -> bool:
        return not (self.fetch or self.tombstones)


@dataclass(frozen=True, slots=True)
class _LocalIndex:
    names: frozenset[str]
    hidden: frozenset[str]  # stems hidden by a local tombstone (either form)
    by_identity: dict[tuple[float, str, str], tuple[datetime, ...]]  # (duration, type, hash)
    #: duration -> (start, stem) of the visible full files
    full_starts: dict[float, tuple[tuple[datetime, str], ...]]

    def disputes(self, item: Replica, tolerance: timedelta, gone: Collection[str]) -> bool:
        """A full segment not held here, but a local full one has its start and duration
        (one the peer has not hidden: stems in ``gone``)."""
        if not isinstance(item, Segment) or not item.is_full:
            return False
        starts = self.full_starts.get(item.duration, ())
        return any(abs(s - item.start) <= tolerance and stem not in gone for s, stem in starts)

    def holds(self, item: Replica, tolerance: timedelta) -> bool:
        if item.name in self.names:
            return True
        if not isinstance(item, Segment):
            return False
        starts = self.by_identity.get((item.duration, item.type, item.hash), ())
        return any(abs(start - item.start) <= tolerance for start in starts)


class _Parser:
    """Names of one hour directory -> what they describe: segments, or chat batches."""

    def __init__(self, channel: str, quality: str, hour: str) -> None:
        self.channel, self.quality, self.hour = channel, quality, hour
        self.hour_start = parse_hour(hour)
        self.chat = quality == CHAT_QUALITY
        self.suffix = CHAT_SUFFIX if self.chat else SUFFIX

    def file(self, name: str) -> Replica | None:
        try:
            if self.chat:
                return parse_batch_name(self.channel, self.hour, name)
            return parse_name(self.channel, self.quality, self.hour_start, name)
        except MalformedName:
            return None

    def hidden_by(self, tombstone: str) -> Replica | None:
        """The file a tombstone of either form hides."""
        return self.file(tombstone_stem(tombstone) + self.suffix)


def _local_index(parser: _Parser, names: Iterable[str]) -> _LocalIndex:
    all_names: set[str] = set()
    hidden: set[str] = set()
    by_identity: dict[tuple[float, str, str], list[datetime]] = {}
    full: list[Segment] = []
    for name in names:
        all_names.add(name)
        if is_tombstone_name(name):
            hidden.add(tombstone_stem(name))
            all_names.add(canonical_tombstone(name))
            continue
        segment = None if parser.chat else parser.file(name)
        if isinstance(segment, Segment):
            key = (segment.duration, segment.type, segment.hash)
            by_identity.setdefault(key, []).append(segment.start)
            if segment.is_full:
                full.append(segment)
    full_starts: dict[float, list[tuple[datetime, str]]] = {}
    for segment in full:
        stem = file_stem(segment.name)
        if stem not in hidden:
            full_starts.setdefault(segment.duration, []).append((segment.start, stem))
    return _LocalIndex(
        frozenset(all_names),
        frozenset(hidden),
        {key: tuple(starts) for key, starts in by_identity.items()},
        {duration: tuple(starts) for duration, starts in full_starts.items()},
    )


def plan_hour(
    channel: str,
    quality: str,
    hour: str,
    local_names: Collection[str],
    remote_names: Iterable[str],
    now: datetime,
    recent_cutoff: timedelta = DEFAULT_RECENT_CUTOFF,
    tolerance: timedelta = START_TOLERANCE,
) -> HourPlan:
    """Decide what to copy into one local hour directory from one peer's listing of it.

    ``local_names`` and ``remote_names`` are file names as ``/files/C/Q/HOUR?tombstones=true``
    lists them: segment names (chat batch names for the quality ``chat``) and tombstone names,
    canonical ``X.tombstone`` or legacy ``X.ts.tombstone``. A remote segment is fetched unless
    a local file has the same start (within ``tolerance``), duration, type and hash, unless it
    is hidden by a tombstone on either side, and unless it started less than ``recent_cutoff``
    before ``now`` (the local downloader is still fetching it; chat batches are written late
    and have no cut-off). A full segment whose start and duration match a local full one of
    another hash is ``disputed``, not fetched: hash consensus decides which one stays
    (SPEC §15). Remote tombstones missing here are to be created. ``temp`` names are
    skipped; every other name that does not parse is returned in ``bad``, and names that start
    more than :data:`FUTURE_TOLERANCE` after ``now`` in ``future``: neither is acted on.
    """
    try:
        parser = _Parser(channel, quality, hour)
    except BadTime:
        return HourPlan(bad=tuple(remote_names))
    if parser.hour_start - now > FUTURE_TOLERANCE:
        return HourPlan(future=tuple(remote_names))
    local = _local_index(parser, local_names)
    remote = list(remote_names)
    remote_hidden = {tombstone_stem(n) for n in remote if is_tombstone_name(n)}
    fetch: dict[str, Replica] = {}
    tombstones: dict[str, Replica] = {}
    too_recent: dict[str, Replica] = {}
    disputed: dict[str, Segment] = {}
    bad: list[str] = []
    future: list[str] = []
    for name in remote:
        if is_temp_name(name):
            continue
        tombstone = is_tombstone_name(name)
        item = parser.hidden_by(name) if tombstone else parser.file(name)
        if item is None:
            bad.append(name)
        elif item.start - now > FUTURE_TOLERANCE:
            future.append(name)
        elif tombstone:
            if canonical_tombstone(name) not in local.names:
                tombstones[item.name] = item
        elif (
            file_stem(item.name) in remote_hidden
            or file_stem(item.name) in local.hidden
            or local.holds(item, tolerance)
        ):
            continue
        elif isinstance(item, Segment) and local.disputes(item, tolerance, remote_hidden):
            disputed[item.name] = item
        elif not parser.chat and now - item.start < recent_cutoff:
            too_recent[item.name] = item
        else:
            fetch[item.name] = item
    return HourPlan(
        fetch=_in_time_order(fetch.values()),
        tombstones=_in_time_order(tombstones.values()),
        too_recent=_in_time_order(too_recent.values()),
        disputed=tuple(sorted(disputed.values(), key=lambda s: (s.start, s.name))),
        bad=tuple(bad),
        future=tuple(future),
    )


def plan_extras(
    local_paths: Collection[str], remote_paths: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(paths to fetch, paths refused) of one extra directory, from a peer's ``/extras/DIR``.

    A path with an empty part, a part starting with ``.`` (``..`` included), a backslash or a
    NUL, or an absolute one, is refused; so is a repeated one only once.
    """
    fetch: dict[str, None] = {}
    refused: dict[str, None] = {}
    for path in remote_paths:
        try:
            check_extra_path(path)
        except UnsafePath:
            refused[path] = None
            continue
        if path not in local_paths:
            fetch[path] = None
    return tuple(fetch), tuple(refused)


def _in_time_order(items: Iterable[Replica]) -> tuple[Replica, ...]:
    return tuple(sorted(items, key=lambda s: (s.start, s.name)))


def hours_to_check(
    listed: Iterable[Iterable[str]],
    now: datetime,
    start: datetime,
    order: Order = "reverse",
    recent_window: timedelta = timedelta(hours=2),
    include_old: bool = True,
) -> list[str]:
    """The hours a pass checks, as a new list.

    ``listed`` holds every hour list a peer gave for any configured quality; their union is
    checked for every quality, so a quality that a peer lists no hours for still gets them
    checked. Hours before the hour of ``start`` are left out. Hours that began within
    ``recent_window`` of ``now`` (and any later ones) are recent; older hours are included only
    when ``include_old``. ``reverse`` puts the newest first, ``forward`` the oldest first.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}: {order!r}")
    first = floor_hour(start)
    recent_from = floor_hour(now - recent_window)
    union: set[str] = set()
    for hours in listed:
        for name in hours:
            try:
                hour_start = parse_hour(name)
            except BadTime:
                continue
            if hour_start < first:
                continue
            if include_old or hour_start >= recent_from:
                union.add(name)
    return sorted(union, reverse=(order == "reverse"))


def future_hours(hours: Iterable[str], now: datetime) -> list[str]:
    """The hour names in a peer's list of hours that begin in the future."""
    bad: list[str] = []
    for name in hours:
        try:
            if parse_hour(name) - now > FUTURE_TOLERANCE:
                bad.append(name)
        except BadTime:
            continue  # not an hour: ignored, as every hour list is filtered
    return bad


def stem_of(name: str) -> str:
    """The stem a listed name stands for: a file's, or the one a tombstone hides."""
    return tombstone_stem(name) if is_tombstone_name(name) else file_stem(name)


def resolve_start(value: float | datetime, now: datetime) -> datetime:
    """``--start``: a number of hours before ``now``, or a time (already UTC)."""
    if isinstance(value, datetime):
        return value
    return now - timedelta(hours=value)
