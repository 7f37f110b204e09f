"""The backfiller: passes over the peers' listings, change-feed followers, peer refresh.

A pass lists the hours every peer holds for every configured quality, takes their union
(:func:`~.plan.hours_to_check`) and, hour by hour, plans (:func:`~.plan.plan_hour`) and starts
the copies, so listing the next hour overlaps copying the last. Recent hours are checked on
every pass, older ones on a full pass every ``full_interval`` seconds.

Beside the passes, one follower per peer, channel and quality (:mod:`.follow`) long-polls the
peer's change feed and copies what it announces as soon as the recent cut-off allows; a peer
without a feed (a wubloader node, 404) is left to the passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp

from ..clock import Clock, SystemClock
from ..errors import BadAnswer, RemoteError
from ..store.chat_naming import CHAT_QUALITY
from ..store.disk import SegmentStore
from .arbiter import Arbiter
from .client import MAX_SEGMENT_BYTES
from .copy import Copier
from .cutoff import RecentCutoff
from .extras import ExtrasCopier
from .follow import FeedFollowers
from .peers import Peer, PeerDiscovery
from .plan import (
    HourPlan,
    Order,
    Replica,
    future_hours,
    hours_to_check,
    plan_hour,
    resolve_start,
)
from .progress import PEERS, Progress, format_line
from .tombstones import TombstoneWriter
from .valve import DEFAULT_MAX_SHARE, TombstoneValve

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settings:
    channels: tuple[str, ...]
    qualities: tuple[str, ...] = ("source",)
    start: float | datetime = 14 * 24.0  # hours ago, or a time
    recent_cutoff: float = 60.0
    order: Order = "reverse"
    interval: float = 10.0  # seconds between passes
    full_interval: float = 600.0  # old hours are checked at most this often
    recent_window: float = 2 * 3600.0  # hours that began this recently are checked every pass
    per_peer: int = 4  # concurrent copies from one peer
    refresh_interval: float = 60.0  # peer discovery
    feed: bool = True
    feed_timeout: float = 30.0
    listing_timeout: float = 10.0  # a peer that takes longer to list is failing
    progress_interval: float = 5.0
    extras: tuple[str, ...] = ()  # extra directories copied as they are (``--extras``)
    max_segment_bytes: int = MAX_SEGMENT_BYTES  # a longer body from a peer is refused
    max_tombstone_share: float = DEFAULT_MAX_SHARE  # of an hour's segments, see .valve
    accept_tombstones: frozenset[str] = frozenset()  # hours whose tombstones are let through


@dataclass(slots=True)
class PassResult:
    peers: int = 0
    hours: int = 0
    planned: int = 0
    copied: int = 0
    failed: int = 0
    tombstones: int = 0
    mismatches: int = 0
    gone: int = 0  # listed chat batches merged away before they were fetched: normal
    extras_copied: int = 0
    extras_failed: int = 0
    disagreements: int = 0  # hash disagreements seen (SPEC §15)
    consensus_tombstones: int = 0  # losers hidden here by hash consensus
    peer_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.peers > 0 and self.failed == 0 and self.extras_failed == 0 and not self.peer_errors
        )

    def summary(self) -> str:
        text = (
            f"{self.peers} peers, {self.hours} hours checked, {self.planned} segments missing, "
            f"{self.copied} copied, {self.failed} failed, {self.mismatches} hash mismatches, "
            f"{self.tombstones} tombstones"
        )
        if self.gone:
            text += f", {self.gone} chat batches gone (merged away)"
        if self.extras_copied or self.extras_failed:
            text += f", {self.extras_copied} extra files copied, {self.extras_failed} failed"
        if self.disagreements or self.consensus_tombstones:
            text += (
                f", {self.disagreements} hash disagreements, "
                f"{self.consensus_tombstones} losers hidden"
            )
        if self.peers == 0:
            text += "; no peers found"
        for name, error in sorted(self.peer_errors.items()):
            text += f"; peer {name} failed: {error}"
        return text


class Backfiller:
    def __init__(
        self,
        store: SegmentStore,
        settings: Settings,
        discovery: PeerDiscovery,
        session: aiohttp.ClientSession,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.discovery = discovery
        self.clock = clock or SystemClock()
        self.progress = Progress(self.clock)
        self.copier = Copier(
            store, session, self.clock, self.progress, settings.per_peer, settings.listing_timeout,
            settings.max_segment_bytes,
        )  # fmt: skip
        self.tombstones = TombstoneWriter(
            store,
            self.progress,
            TombstoneValve(settings.max_tombstone_share, settings.accept_tombstones),
        )
        self.extras = ExtrasCopier(store, self.copier, settings.extras)
        self.arbiter = Arbiter(store, self.copier)
        cutoff = timedelta(seconds=settings.recent_cutoff)
        #: the cut-off of each stream now: (channel, quality) -> timedelta
        self.cutoff = RecentCutoff(store, self.clock, cutoff, self.copier.own)
        self._last_full: float | None = None
        self._wake: asyncio.Event | None = None
        self.followers = FeedFollowers(
            store, self.copier, self.tombstones, self.clock, self.cutoff, self.wake,
            settings.feed_timeout, settings.full_interval,
        )  # fmt: skip

    @property
    def feed_cursors(self) -> dict[tuple[str, str, str], tuple[int, str]]:
        """(peer url, channel, quality) -> (cursor, instance) of each followed change feed."""
        return self.followers.cursors

    # --- passes ----------------------------------------------------------------------------

    async def run_pass(self, full: bool | None = None) -> PassResult:
        """Check every peer once; returns when every copy it started has finished."""
        now = self.clock.monotonic()
        if full is None:
            full = self._last_full is None or now - self._last_full >= self.settings.full_interval
        if full:
            self._last_full = now
        peers = list(self.discovery.peers)
        result = PassResult(peers=len(peers))
        mismatches = self.progress.mismatches
        usable = [p for p in peers if self.copier.available(p)]
        for peer in peers:
            if peer not in usable:
                result.peer_errors[peer.name] = f"backing off: {self.copier.state(peer).last_error}"
        copies: set[asyncio.Task[bool | None]] = set()
        room = asyncio.Semaphore(max(32, 4 * self.settings.per_peer * len(usable)))
        self.arbiter.begin_pass()
        try:
            for channel in self.settings.channels:
                await self._pass_channel(channel, usable, full, result, copies, room)
            if self.settings.extras:
                extras = await self.extras.run_pass(usable)
                result.extras_copied, result.extras_failed = extras.copied, extras.failed
            while copies:
                await asyncio.wait(set(copies))
            # hash consensus (SPEC §15): hide this node's losers, now that the winners are in
            result.consensus_tombstones = await self.arbiter.settle()
        finally:
            for task in copies:  # only when cancelled: no copy outlives its pass
                task.cancel()
            await asyncio.gather(*copies, return_exceptions=True)
        result.mismatches = self.progress.mismatches - mismatches
        self.progress.publish()
        quiet = result.ok and not (result.planned or result.tombstones)
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s pass: %s", "full" if full else "recent", result.summary(),
        )  # fmt: skip
        return result

    async def _pass_channel(
        self,
        channel: str,
        peers: list[Peer],
        full: bool,
        result: PassResult,
        copies: set[asyncio.Task[bool | None]],
        room: asyncio.Semaphore,
    ) -> None:
        listed, answering = await self._list_hours(channel, peers, result)
        now = self.clock.now()
        hours = hours_to_check(
            listed,
            now,
            resolve_start(self.settings.start, now),
            self.settings.order,
            timedelta(seconds=self.settings.recent_window),
            include_old=full,
        )
        result.hours += len(hours)
        for hour in hours:
            for quality in self.settings.qualities:
                answering = [p for p in answering if p.name not in result.peer_errors]
                wanted = await self._plan_hour(channel, quality, hour, answering, result)
                for segment, candidates in wanted:
                    await room.acquire()
                    self._start_copy(segment, candidates, result, copies, room)
                result.planned += len(wanted)

    def _start_copy(
        self, segment: Replica, candidates: list[Peer], result: PassResult,
        copies: set[asyncio.Task[bool | None]], room: asyncio.Semaphore,
    ) -> None:  # fmt: skip
        """Start one copy; its outcome is counted as soon as it ends (a catch-up pass may
        start millions of copies: none is kept once done)."""

        def done(task: asyncio.Task[bool | None]) -> None:
            copies.discard(task)
            room.release()
            if task.cancelled():
                return
            error = task.exception()
            if error is not None:
                log.error("copy of %s failed unexpectedly", segment.path, exc_info=error)
            outcome = None if error is not None else task.result()
            result.copied += outcome is True
            result.failed += outcome is False or error is not None
            result.gone += outcome is None and error is None

        task = asyncio.create_task(self.copier.copy(segment, candidates))
        copies.add(task)
        task.add_done_callback(done)

    async def _list_hours(
        self, channel: str, peers: list[Peer], result: PassResult
    ) -> tuple[list[list[str]], list[Peer]]:
        asks = [(p, q) for p in peers for q in self.settings.qualities]
        answers = await asyncio.gather(
            *(self.copier.client(p).list_hours(channel, q) for p, q in asks), return_exceptions=True
        )
        listed: list[list[str]] = []
        now = self.clock.now()
        for (peer, _quality), answer in zip(asks, answers, strict=True):
            if isinstance(answer, list) and (bad := future_hours(answer, now)):
                answer = BadAnswer(f"{len(bad)} hours that begin in the future: {bad[0]!r}")
            if isinstance(answer, list):
                listed.append(answer)
            else:
                self._listing_failed(peer, answer, result)
        return listed, [p for p in peers if p.name not in result.peer_errors]

    def _listing_failed(self, peer: Peer, error: BaseException, result: PassResult) -> None:
        if not isinstance(error, RemoteError):
            raise error
        if peer.name not in result.peer_errors:
            result.peer_errors[peer.name] = str(error)
            if isinstance(error, BadAnswer):
                self.copier.peer_misbehaved(peer, error, "listing")
            else:
                self.copier.peer_failed(peer, error, "listing")

    async def _plan_hour(
        self, channel: str, quality: str, hour: str, peers: list[Peer], result: PassResult
    ) -> list[tuple[Replica, list[Peer]]]:
        """List the hour on every peer; write missing tombstones; return what to copy from whom."""
        answers = await asyncio.gather(
            *(self.copier.client(p).list_hour(channel, quality, hour) for p in peers),
            return_exceptions=True,
        )
        local = self.store.segment_names(channel, quality, hour, tombstones=True)
        now = self.clock.now()
        cutoff = self.cutoff(channel, quality)
        plans: list[tuple[Peer, HourPlan]] = []
        remote: list[list[str]] = []
        for peer, answer in zip(peers, answers, strict=True):
            if isinstance(answer, list):
                plan = plan_hour(channel, quality, hour, local, answer, now, cutoff)
                self.progress.unusable(
                    peer, channel, quality, f"{channel}/{quality}/{hour}", plan.bad
                )
                if plan.future:
                    answer = BadAnswer(f"{len(plan.future)} names in {hour} that start in the "
                                       f"future: {plan.future[0]!r}")  # fmt: skip
                else:
                    plans.append((peer, plan))
                    remote.append(answer)
            if not isinstance(answer, list):
                self._listing_failed(peer, answer, result)
        hidden = self.tombstones.write(
            (channel, quality, hour),
            [t for _, plan in plans for t in plan.tombstones],
            local,
            [name for names in remote for name in names],
        )
        result.tombstones += len(hidden)
        wanted: dict[str, tuple[Replica, list[Peer]]] = {}
        for peer, plan in plans:
            for segment in plan.fetch:
                if segment.name not in hidden:
                    wanted.setdefault(segment.name, (segment, []))[1].append(peer)
        if quality != CHAT_QUALITY:
            answered = list(zip([peer for peer, _ in plans], remote, strict=True))
            await self._consensus(channel, quality, hour, local, answered, wanted, result)
        self.progress.plan(len(wanted))
        return list(wanted.values())

    async def _consensus(
        self,
        channel: str,
        quality: str,
        hour: str,
        local: list[str],
        answered: list[tuple[Peer, list[str]]],
        wanted: dict[str, tuple[Replica, list[Peer]]],
        result: PassResult,
    ) -> None:
        """Hash consensus (SPEC §15) over the listings already fetched: copy winners, never a
        loser; the losers here are hidden by :meth:`Arbiter.settle` after the copies."""
        complete = len(answered) == len(self.discovery.peers)
        review = await self.arbiter.review(channel, quality, hour, local, answered, complete)
        result.disagreements += len(review.decisions)
        for name in review.hold_back:
            wanted.pop(name, None)
        for segment, holders in review.fetch:
            if holders:
                wanted.setdefault(segment.name, (segment, list(holders)))

    # --- the loop --------------------------------------------------------------------------

    def wake(self) -> None:
        """Start the next pass now."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Run until cancelled."""
        self._wake = asyncio.Event()
        await self.discovery.refresh()
        tasks = [
            asyncio.create_task(self._refresh_peers()),
            asyncio.create_task(self.progress.report(self.settings.progress_interval)),
        ]
        try:
            while True:
                self._update_peers()
                await self.run_pass()
                await self._pause(self.settings.interval)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.followers.stop()

    async def run_once(self) -> PassResult:
        """One full pass (``--once``)."""
        await self.discovery.refresh()
        reporter = asyncio.create_task(self.progress.report(self.settings.progress_interval))
        try:
            result = await self.run_pass(full=True)
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        log.info("%s", format_line(self.progress.publish()))
        return result

    def _update_peers(self) -> None:
        peers = self.discovery.peers
        now = self.clock.monotonic()
        backing_off = sum(not self.copier.state(p).available(now) for p in peers)
        PEERS.labels("known").set(len(peers))
        PEERS.labels("backing_off").set(backing_off)
        if self.settings.feed:
            self.followers.update(peers, self.settings.channels, self.settings.qualities)

    async def _refresh_peers(self) -> None:
        while True:
            await self.clock.sleep(self.settings.refresh_interval)
            await self.discovery.refresh()
            self._update_peers()

    async def _pause(self, seconds: float) -> None:
        assert self._wake is not None
        await self.clock.wait(self._wake, seconds)
        self._wake.clear()
