"""The simulated Twitch: channel timelines, faults, counters and the server's lifecycle."""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import secrets
import shutil
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from ..clock import Clock, ScaledClock
from ..store.naming import hash_bytes
from .chat_server import ChatServer
from .config import ChannelConfig, SimConfig, quality_info
from .faults import Fault, FaultSet
from .fmp4 import Fmp4Loop, build_fragment, render_fmp4_loop
from .playlists import AdBreak
from .signing import Signer
from .video import Loop, LoopSpec, build_segment, render_loop

log = logging.getLogger(__name__)

ROUTE_KINDS = ("gql", "usher", "playlist", "segment", "init", "control", "other")
BYTES_CACHE_LIMIT = 256 * 1024 * 1024
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


class Simulator:
    """A simulated Twitch (GraphQL token, usher, CDN) on one port.

    ``await start(host, port)`` renders or loads the video and serves; ``base_url`` then
    stands in for both ``--twitch-gql-url`` and ``--twitch-usher-url`` (``node_url(NAME)`` for
    a node that sees the faults with ``node=NAME``). Every time in the sim comes from
    ``clock`` (a ScaledClock at ``time_scale`` unless one is passed): segment ``k`` of a
    channel starts at ``origin + k * segment_duration`` and is published once complete.
    ``published``, ``segment_bytes`` and ``counters`` let tests predict and check what a
    downloader should have stored and how it behaved on the wire.
    """

    def __init__(self, config: SimConfig, clock: Clock | None = None) -> None:
        if not config.channels:
            raise ValueError("the simulator needs at least one channel")
        self.config = config
        self.clock: Clock = clock or ScaledClock(config.time_scale)
        self.faults = FaultSet(config.faults)
        self.signer = Signer(secrets.token_bytes(32))
        self.channels: dict[str, ChannelTimeline] = {}
        self._anchor()
        self._loops: dict[tuple[int, int], Loop] = {}
        self._fmp4_loops: dict[tuple[int, int], Fmp4Loop] = {}
        self._bytes: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._bytes_size = 0
        self._hashes: dict[tuple[str, str, int], str] = {}
        self._counters: dict[str, Any] = {
            "requests": dict.fromkeys(ROUTE_KINDS, 0),
            "connections_opened": 0,
            "requests_by_node": {},
            "responses": {},
            "faults_applied": {},
            "usher_paths": {"v1": 0, "v2": 0},  # /api/channel/hls vs /api/v2/channel/hls
            # the most requests for one segment in flight at once, by "channel/quality/sequence"
            # (segments never requested twice at once are left out)
            "segment_in_flight_max": {},
        }
        self._in_flight: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.chat: ChatServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.base_url = ""
        self.ca_file: str | None = None
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

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def prepare(self) -> None:
        """Render (or load from the cache) the video of every configured quality."""
        channels = self.config.channels
        specs = {self._loop_spec(q) for c in channels for q in c.qualities}
        cache = Path(self.config.cache_dir) if self.config.cache_dir else None
        missing = [spec for spec in specs if (spec.width, spec.height) not in self._loops]
        loops = await asyncio.gather(*(render_loop(spec, cache) for spec in missing))
        for loop in loops:
            self._loops[(loop.spec.width, loop.spec.height)] = loop
        fmp4 = {self._loop_spec(q) for c in channels if c.fmp4 for q in c.qualities}
        missing = [spec for spec in fmp4 if (spec.width, spec.height) not in self._fmp4_loops]
        for fragments in await asyncio.gather(*(render_fmp4_loop(s, cache) for s in missing)):
            self._fmp4_loops[(fragments.spec.width, fragments.spec.height)] = fragments

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from .server import make_app, start_site

        await self.prepare()
        untouched = all(t.online == t.config.online for t in self.channels.values())
        if self._runner is None and untouched:
            # Rendering the video takes real time that a fast clock multiplies: the history
            # counts from when the sim starts serving, not from when it was made.
            self._anchor()
            self.advance()
        self._runner, self.base_url, self.ca_file = await start_site(
            self, make_app(self), host, port, tls=self.config.tls
        )
        self._ticker = asyncio.create_task(self._tick())
        log.info("simulated Twitch listening on %s", self.base_url)
        if self.config.chat_port is not None:
            self.chat = ChatServer(
                self.clock,
                [c.name for c in self.config.channels],
                rate=self.config.chat_rate,
                duplicate_every=self.config.chat_duplicate_every,
                is_live=self._chat_live,
            )
            await self.chat.start(host, self.config.chat_port)

    def _chat_live(self, channel: str) -> bool:
        timeline = self.channel(channel)
        return timeline is not None and self.is_live(timeline, None)

    async def stop(self) -> None:
        if self.chat is not None:
            await self.chat.stop()
            self.chat = None
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.ca_file is not None:
            shutil.rmtree(Path(self.ca_file).parent, ignore_errors=True)

    async def _tick(self) -> None:
        while True:
            try:
                self.advance()
            except Exception:  # a bad fault must not stop time
                log.exception("simulator tick failed")
            await self.clock.sleep(self.config.segment_duration / 4)

    def node_url(self, node: str) -> str:
        """The base URL under which the faults with ``node=NODE`` apply."""
        return f"{self.base_url}/node/{node}"

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

    def _loop_spec(self, quality: str) -> LoopSpec:
        info = quality_info(quality)
        return LoopSpec(
            info.render_width,
            info.render_height,
            self.config.fps,
            self.config.segment_duration,
            self.config.loop_segments,
        )

    def segment_bytes(self, channel: str, quality: str, sequence: int) -> bytes:
        """The bytes served for a segment when no fault applies (needs ``prepare``/``start``)."""
        return self._segment_bytes(channel, quality, sequence, keep=True)

    def _segment_bytes(self, channel: str, quality: str, sequence: int, keep: bool) -> bytes:
        """Cached bytes, or new ones (put in the LRU cache when ``keep``)."""
        timeline = self.channel(channel)
        name = timeline.config.name if timeline else channel
        key = (name, quality, sequence)
        cached = self._bytes.get(key)
        if cached is not None:
            self._bytes.move_to_end(key)
            return cached
        spec = self._loop_spec(quality)
        if timeline is not None and timeline.config.fmp4:
            data = build_fragment(self._fmp4_loop(quality), name, quality, sequence)
        else:
            loop = self._loops.get((spec.width, spec.height))
            if loop is None:
                raise RuntimeError(f"no video rendered for quality {quality!r}; call start() first")
            target = 0
            if self.config.realistic_bitrate:
                target = int(quality_info(quality).bandwidth * self.config.segment_duration / 8)
            data = build_segment(loop, name, quality, sequence, target)
        if not keep:
            return data
        self._bytes[key] = data
        self._bytes_size += len(data)
        while self._bytes_size > BYTES_CACHE_LIMIT and len(self._bytes) > 1:
            _, old = self._bytes.popitem(last=False)
            self._bytes_size -= len(old)
        return data

    def _fmp4_loop(self, quality: str) -> Fmp4Loop:
        spec = self._loop_spec(quality)
        loop = self._fmp4_loops.get((spec.width, spec.height))
        if loop is None:
            raise RuntimeError(f"no fMP4 video rendered for quality {quality!r}; call start()")
        return loop

    def init_section(self, channel: str, quality: str) -> bytes | None:
        """The ``EXT-X-MAP`` init section of an fMP4 channel's quality; None for MPEG-TS."""
        timeline = self.channel(channel)
        if timeline is None or not timeline.config.fmp4:
            return None
        return self._fmp4_loop(quality).init

    def segment_hash(self, channel: str, quality: str, sequence: int) -> str:
        """The hash of the segment as a recorder stores it (fMP4: init section first)."""
        key = (channel.lower(), quality, sequence)
        if key not in self._hashes:
            # hashing old segments must not evict the ones being served from the cache
            data = self._segment_bytes(channel, quality, sequence, keep=False)
            self._hashes[key] = hash_bytes((self.init_section(channel, quality) or b"") + data)
        return self._hashes[key]

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
        return copy.deepcopy(self._counters)

    def count_request(self, kind: str, node: str | None) -> None:
        requests = self._counters["requests"]
        requests[kind] = requests.get(kind, 0) + 1
        by_node = self._counters["requests_by_node"]
        key = node or "default"
        by_node[key] = by_node.get(key, 0) + 1

    def count_response(self, status: int) -> None:
        responses = self._counters["responses"]
        responses[str(status)] = responses.get(str(status), 0) + 1

    def count_fault(self, kind: str) -> None:
        applied = self._counters["faults_applied"]
        applied[kind] = applied.get(kind, 0) + 1

    def count_usher_path(self, version: str) -> None:
        self._counters["usher_paths"][version] += 1

    def segment_request(self, key: str, delta: int) -> None:
        """A request for segment ``key`` began (+1) or ended (-1): the in-flight maximum."""
        now = self._in_flight.get(key, 0) + delta
        if now > 0:
            self._in_flight[key] = now
        else:
            self._in_flight.pop(key, None)
        peaks = self._counters["segment_in_flight_max"]
        if now > max(1, peaks.get(key, 0)):  # only the interesting ones: memory stays small
            peaks[key] = now

    def count_connection(self) -> None:
        self._counters["connections_opened"] += 1
