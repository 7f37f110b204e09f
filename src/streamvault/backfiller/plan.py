"""What to replicate (SPEC §8). Pure: listings and a ``now`` in, decisions out; no I/O.

Two decisions live here:

- :func:`hours_to_check`: which hour directories a pass looks at — the union of the hours
  every peer lists for every configured quality, within ``start``, recent hours on every pass
  and older ones only on a full pass, newest first (``reverse``) or oldest first (``forward``).
- :func:`plan_hour`: given the local and one remote listing of an hour, the segments to fetch
  and the tombstones to create.

Neither ever mutates the collections it is given.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ..errors import BadTime, MalformedName
from ..store.naming import (
    TOMBSTONE_SUFFIX,
    Segment,
    is_temp_name,
    is_tombstone_name,
    parse_name,
)
from ..timeutil import floor_hour, parse_hour

Order = Literal["forward", "reverse"]
ORDERS: tuple[Order, ...] = ("forward", "reverse")

#: Two files whose starts differ by no more than this are the same segment (SPEC §8).
START_TOLERANCE = timedelta(milliseconds=1)
#: Segments younger than this are left to the local downloader (SPEC §8).
DEFAULT_RECENT_CUTOFF = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class HourPlan:
    """What one remote listing of an hour asks of this node."""

    fetch: tuple[Segment, ...] = ()  # segments to copy, in time order
    tombstones: tuple[Segment, ...] = ()  # segments to hide here (tombstones to create)
    too_recent: tuple[Segment, ...] = ()  # missing but younger than the cut-off
    bad: tuple[str, ...] = ()  # remote names that do not parse

    @property
    def empty(self) -> bool:
        return not (self.fetch or self.tombstones)


@dataclass(frozen=True, slots=True)
class _LocalIndex:
    names: frozenset[str]
    hidden: frozenset[str]  # segment names that have a local tombstone
    by_identity: dict[tuple[float, str, str], tuple[datetime, ...]]  # (duration, type, hash)

    def holds(self, segment: Segment, tolerance: timedelta) -> bool:
        if segment.name in self.names:
            return True
        starts = self.by_identity.get((segment.duration, segment.type, segment.hash), ())
        return any(abs(start - segment.start) <= tolerance for start in starts)


def _parse(channel: str, quality: str, hour: datetime, name: str) -> Segment | None:
    try:
        return parse_name(channel, quality, hour, name)
    except MalformedName:
        return None


def _local_index(channel: str, quality: str, hour: datetime, names: Iterable[str]) -> _LocalIndex:
    all_names: set[str] = set()
    hidden: set[str] = set()
    by_identity: dict[tuple[float, str, str], list[datetime]] = {}
    for name in names:
        all_names.add(name)
        segment_name = name[: -len(TOMBSTONE_SUFFIX)] if is_tombstone_name(name) else name
        if segment_name != name:
            hidden.add(segment_name)
        segment = _parse(channel, quality, hour, segment_name)
        if segment is not None:
            key = (segment.duration, segment.type, segment.hash)
            by_identity.setdefault(key, []).append(segment.start)
    return _LocalIndex(
        frozenset(all_names),
        frozenset(hidden),
        {key: tuple(starts) for key, starts in by_identity.items()},
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
    lists them: segment names and ``NAME.tombstone`` names. A remote segment is fetched unless
    a local file has the same start (within ``tolerance``), duration, type and hash, unless it
    is hidden by a tombstone on either side, and unless it started less than ``recent_cutoff``
    before ``now`` (the local downloader is still fetching it). Remote tombstones missing here
    are to be created. ``temp`` names and names that do not parse are never fetched.
    """
    try:
        hour_start = parse_hour(hour)
    except BadTime:
        return HourPlan(bad=tuple(remote_names))
    local = _local_index(channel, quality, hour_start, local_names)
    remote = list(remote_names)
    remote_hidden = {n[: -len(TOMBSTONE_SUFFIX)] for n in remote if is_tombstone_name(n)}
    fetch: dict[str, Segment] = {}
    tombstones: dict[str, Segment] = {}
    too_recent: dict[str, Segment] = {}
    bad: list[str] = []
    for name in remote:
        if is_temp_name(name):
            continue
        tombstone = is_tombstone_name(name)
        segment_name = name[: -len(TOMBSTONE_SUFFIX)] if tombstone else name
        segment = _parse(channel, quality, hour_start, segment_name)
        if segment is None:
            bad.append(name)
        elif tombstone:
            if name not in local.names:
                tombstones[segment.name] = segment
        elif (
            segment.name in remote_hidden
            or segment.name in local.hidden
            or local.holds(segment, tolerance)
        ):
            continue
        elif now - segment.start < recent_cutoff:
            too_recent[segment.name] = segment
        else:
            fetch[segment.name] = segment
    return HourPlan(
        fetch=_in_time_order(fetch.values()),
        tombstones=_in_time_order(tombstones.values()),
        too_recent=_in_time_order(too_recent.values()),
        bad=tuple(bad),
    )


def _in_time_order(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    return tuple(sorted(segments, key=lambda s: (s.start, s.name)))


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


def resolve_start(value: float | datetime, now: datetime) -> datetime:
    """``--start``: a number of hours before ``now``, or a time (already UTC)."""
    if isinstance(value, datetime):
        return value
    return now - timedelta(hours=value)
