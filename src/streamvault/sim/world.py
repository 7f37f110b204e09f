"""The simulated world: channel timelines, faults, counters and the video they serve.

Pure of servers: a :class:`World` is made and driven without a port or an event loop (only
``prepare``, which renders the video with ffmpeg, is a coroutine); :mod:`.simulator` serves
one over HTTP, and the handlers (:mod:`.twitch_api`, :mod:`.cdn`, :mod:`.control`) read it.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock, ScaledClock
from .config import ChannelConfig, SimConfig
from .counters import Counters
from .faults import Fault, FaultSet
from .footage import Footage
from .playlists import AdBreak
from .signing import Signer

log = logging.getLogger(__name__)

AD_SCAN_LIMIT = 450


@dataclass(frozen=True, slots=True)
class PublishedSegment:
    sequence: int
    program_date_time: datetime
    duration: float
    is_ad: bool
    data_hash: str


class ChannelTimeline:
    """Which segments of one channel have been published. Segment ``k`` covers stream seconds
    ``[k*d, (k+1)*d)`` and is published when it is complete, if the channel is online then."""

    def __init__(self, config: ChannelConfig, origin: datetime, duration: float) -> None:
        self.config = config
        self.origin = origin
        self.duration = duration
        self.online = config.online
        self.published: list[int] = []
        self.published_set: set[int] = set()
        self.next_sequence = 0

    def advance(self, stream_seconds: float, faults: FaultSet) -> None:
        complete = math.floor(stream_seconds / self.duration + 1e-9)
        while self.next_sequence < complete:
            sequence = self.next_sequence
            blocked = any(
                fault.kind in ("offline", "ended")
                and fault.node is None
                and fault.selects(self.config.name, None, None)
                and fault.covers(sequence, sequence * self.duration)
                for fault in faults
            )
            if self.online and not blocked:
                self.published.append(sequence)
                self.published_set.add(sequence)
            self.next_sequence += 1

    def start_of(self, sequence: int) -> datetime:
        return self.origin + timedelta(seconds=sequence * self.duration)


class World:
    """The simulated Twitch's state: what each channel has broadcast, the active faults, the
    wire counters and the video.

    Every time comes from ``clock`` (a ScaledClock at ``time_scale`` unless one is passed):
    segment ``k`` of a channel starts at ``origin + k * segment_duration`` and is published
    once complete. ``published``, ``segment_bytes`` and ``counters`` let tests predict and
    check what a downloader should have stored and how it behaved on the wire.
    """

    def __init__(self, config: SimConfig, clock: Clock | None = None) -> None:
        if not config.channels:
            raise ValueError("the simulator needs at least one channel")
        self.config = config
        self.clock: Clock = clock or ScaledClock(config.time_scale)
        self.faults = FaultSet(config.faults)
        self.signer = Signer(secrets.token_bytes(32))
        self.counts = Counters()
        self.footage = Footage(config)
        self.channels: dict[str, ChannelTimeline] = {}
        self._anchor()
        self.advance()

    def _anchor(self) -> None:
        """Every channel's timeline, with ``history`` segments complete as of now."""
        now = self.clock.now()
        origin = now.replace(microsecond=now.microsecond // 1000 * 1000)
        config = self.config
        for channel in config.channels:
            start = origin - timedelta(seconds=channel.history * config.segment_duration)
            timeline = ChannelTimeline(channel, start, config.segment_duration)
            self.channels[channel.name.lower()] = timeline

    def reanchor(self) -> None:
        """Start every timeline anew from now, unless a channel was switched on or off: the
        video takes real time to render, which a fast clock multiplies, so a served world's
        history counts from when it starts serving, not from when it was made."""
        if all(t.online == t.config.online for t in self.channels.values()):
            self._anchor()
            self.advance()

    async def prepare(self) -> None:
        """Render (or load from the cache) the video of every configured quality."""
        await self.footage.prepare()

    # -- time and channels -------------------------------------------------------------------

    def channel(self, name: str) -> ChannelTimeline | None:
        return self.channels.get(name.lower())

    def stream_seconds(self, timeline: ChannelTimeline) -> float:
        return (self.clock.now() - timeline.origin).total_seconds()

    def advance(self) -> None:
        for timeline in self.channels.values():
            timeline.advance(self.stream_seconds(timeline), self.faults)

    def set_online(self, name: str, online: bool) -> bool:
        timeline = self.channel(name)
        if timeline is None:
            return False
        self.advance()
        timeline.online = online
        log.info("channel %s is now %s", timeline.config.name, "online" if online else "offline")
        return True

    def live_sequence(self, timeline: ChannelTimeline) -> int:
        """The sequence being broadcast right now (not complete yet)."""
        return math.floor(self.stream_seconds(timeline) / timeline.duration + 1e-9)

    def playlist_fault(
        self, kind: str, timeline: ChannelTimeline, quality: str | None, node: str | None
    ) -> Fault | None:
        sequence = self.live_sequence(timeline)
        return self.faults.segment_fault(
            kind, timeline.config.name, quality, node, sequence, self.stream_seconds(timeline)
        )

    def is_live(self, timeline: ChannelTimeline, node: str | None) -> bool:
        return timeline.online and self.playlist_fault("offline", timeline, None, node) is None

    def channel_live(self, name: str) -> bool:
        """Whether channel ``name`` is broadcasting to every node (what its chat follows)."""
        timeline = self.channel(name)
        return timeline is not None and self.is_live(timeline, None)

    def qualities(self, timeline: ChannelTimeline) -> list[str]:
        """Qualities the CDN serves: the configured ones, plus portrait twins in IVS style."""
        names = list(timeline.config.qualities)
        if timeline.config.master_style == "ivs":
            names += [f"{q}-portrait" for q in timeline.config.qualities if q != "source"]
        return names

    # -- segments ----------------------------------------------------------------------------

    def segment_fault(
        self, kind: str, timeline: ChannelTimeline, quality: str | None, node: str | None,
        sequence: int,
    ) -> Fault | None:  # fmt: skip
        return self.faults.segment_fault(
            kind, timeline.config.name, quality, node, sequence, sequence * timeline.duration
        )

    def ad_break(
        self, timeline: ChannelTimeline, quality: str | None, node: str | None, sequence: int
    ) -> AdBreak | None:
        fault = self.segment_fault("ad_break", timeline, quality, node, sequence)
        if fault is None:
            return None
        d = timeline.duration
        first = sequence
        while (
            first > 0
            and sequence - first < AD_SCAN_LIMIT
            and fault.covers(first - 1, (first - 1) * d)
        ):
            first -= 1
        last = sequence
        while last - sequence < AD_SCAN_LIMIT and fault.covers(last + 1, (last + 1) * d):
            last += 1
        short = fault.last_ad_duration
        return AdBreak(
            id=f"{timeline.config.name}-{first}",
            marking=fault.marking,
            start=timeline.start_of(first),
            duration=(last - first) * d + (short if short is not None else d),
            last_sequence=last,
            last_duration=short,
        )

    def shown_duration(self, timeline: ChannelTimeline, ad: AdBreak | None, sequence: int) -> float:
        """The EXTINF duration: the segment's, or a short last ad segment's."""
        if ad is not None and ad.last_duration is not None and sequence == ad.last_sequence:
            return ad.last_duration
        return timeline.duration

    def program_date_time(
        self, timeline: ChannelTimeline, quality: str | None, node: str | None, sequence: int
    ) -> datetime:
        start = timeline.start_of(sequence)
        skew = self.segment_fault("skew", timeline, quality, node, sequence)
        return start + timedelta(seconds=skew.skew_seconds) if skew else start

    def _footage_of(self, channel: str) -> tuple[str, bool]:
        """The channel's own name and whether it serves fMP4."""
        timeline = self.channel(channel)
        if timeline is None:
            return channel, False
        return timeline.config.name, timeline.config.fmp4

    def segment_bytes(self, channel: str, quality: str, sequence: int) -> bytes:
        """The bytes served for a segment when no fault applies (needs ``prepare``/``start``)."""
        name, fmp4 = self._footage_of(channel)
        return self.footage.segment(name, quality, sequence, fmp4=fmp4)

    def init_section(self, channel: str, quality: str) -> bytes | None:
        """The ``EXT-X-MAP`` init section of an fMP4 channel's quality; None for MPEG-TS."""
        timeline = self.channel(channel)
        if timeline is None or not timeline.config.fmp4:
            return None
        return self.footage.fmp4_loop(quality).init

    def segment_hash(self, channel: str, quality: str, sequence: int) -> str:
        """The hash of the segment as a recorder stores it (fMP4: init section first)."""
        name, fmp4 = self._footage_of(channel)
        return self.footage.segment_hash(name, quality, sequence, fmp4=fmp4)

    def published(self, channel: str, quality: str) -> list[PublishedSegment]:
        """Every segment that has appeared in the live playlist so far (faults as of now)."""
        timeline = self.channel(channel)
        if timeline is None:
            raise KeyError(channel)
        self.advance()
        published = []
        for sequence in timeline.published:
            ad = self.ad_break(timeline, quality, None, sequence)
            published.append(
                PublishedSegment(
                    sequence=sequence,
                    program_date_time=self.program_date_time(timeline, quality, None, sequence),
                    duration=self.shown_duration(timeline, ad, sequence),
                    is_ad=ad is not None,
                    data_hash=self.segment_hash(timeline.config.name, quality, sequence),
                )
            )
        return published

    # -- faults and counters -----------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        self.advance()
        self.faults.add(fault)
        log.info("fault added: %s", fault.to_dict())

    def remove_fault(self, fault: Fault) -> None:
        self.advance()
        self.faults.remove(fault)
        log.info("fault removed: %s", fault.to_dict())

    def clear_faults(self) -> None:
        self.advance()
        self.faults.clear()
        log.info("faults cleared")

    @property
    def counters(self) -> dict[str, Any]:
        """A copy of the wire counters (see :mod:`.counters`)."""
        return self.counts.snapshot()
