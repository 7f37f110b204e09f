"""Before a cut: copy from peers the segments of the event's ranges this node lacks.

:func:`missing` is pure: from the local segments and each peer's listing of the same hours,
the segments the best selection of a range would use that are not here yet, each with the
peers that list it. The copying is the backfiller's :class:`~..backfiller.copy.Copier`
(verified by hash, atomic, per-peer bounds and back-off).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from ..backfiller.client import PeerClient
from ..backfiller.copy import Copier
from ..backfiller.peers import Peer
from ..errors import MalformedName, RemoteError
from ..restreamer.archive import Archive
from ..store.naming import Segment, is_tombstone_name, parse_name
from ..store.select import hours_for_range, segments_only, select_segments

log = logging.getLogger(__name__)

Range = tuple[datetime, datetime]


def missing(
    local: Sequence[Segment],
    remote: Mapping[Peer, Sequence[Segment]],
    start: datetime,
    end: datetime,
) -> dict[Segment, list[Peer]]:
    """Segments of the best selection of ``[start, end)`` that only peers hold."""
    held: dict[Segment, list[Peer]] = {}
    for peer, segments in remote.items():
        for segment in segments:
            held.setdefault(segment, []).append(peer)
    here = set(local)
    chosen = segments_only(select_segments([*here, *held], start, end))
    return {segment: held[segment] for segment in chosen if segment not in here}


def parse_listing(channel: str, quality: str, hour: str, names: Sequence[str]) -> list[Segment]:
    segments = []
    for name in names:
        if is_tombstone_name(name):
            continue
        try:
            segments.append(parse_name(channel, quality, hour, name))
        except MalformedName:
            continue  # a peer's odd file is not our problem here
    return segments


async def _peer_segments(
    client: PeerClient, channel: str, quality: str, hours: Sequence[str]
) -> list[Segment]:
    found: list[Segment] = []
    for hour in hours:
        names = await client.list_hour(channel, quality, hour)
        found.extend(parse_listing(channel, quality, hour, names))
    return found


async def fetch_ranges(
    archive: Archive,
    copier: Copier,
    peers: Sequence[Peer],
    channel: str,
    quality: str,
    ranges: Sequence[Range],
) -> int:
    """Copy what the ranges need from ``peers``; returns how many segments were copied.

    A peer that cannot be listed is left out (logged); whatever is still missing afterwards
    shows up as holes when the cut is planned.
    """
    copied = 0
    for start, end in ranges:
        hours = hours_for_range(start, end)
        local = await asyncio.to_thread(archive.segments_for_range, channel, quality, start, end)
        remote: dict[Peer, list[Segment]] = {}
        for peer in peers:
            try:
                remote[peer] = await _peer_segments(copier.client(peer), channel, quality, hours)
            except RemoteError as err:
                log.warning("%s/%s: cannot list peer %s: %s", channel, quality, peer.name, err)
        wanted = missing(local, remote, start, end)
        results = await asyncio.gather(
            *(copier.copy(segment, holders) for segment, holders in wanted.items())
        )
        copied += sum(1 for result in results if result)
    if copied:
        log.info("%s/%s: copied %d segment(s) from peers for a cut", channel, quality, copied)
    return copied
