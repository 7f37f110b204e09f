"""Following the peers' change feeds (SPEC §8 ★): new segments within seconds, not passes.

One follower per peer, channel and quality long-polls ``/changes`` and copies what is
announced as soon as the recent cut-off allows (a segment announced while younger than the
cut-off is copied when it reaches it, unless the local downloader got it first). A peer that
offers no feed (a wubloader node: 404) is left to the passes and asked again now and then. A
feed that restarted (another instance, or ``reset``) cannot say what was missed, so it asks
for a pass over the recent hours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import timedelta
from typing import Any

from ..clock import Clock
from ..errors import BadAnswer, RemoteError
from ..store.disk import SegmentStore
from .answers import Change
from .copy import Copier
from .peers import Peer
from .plan import Replica, plan_hour
from .tombstones import TombstoneWriter

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # (peer url, channel, quality)

#: An empty long-poll answer faster than this is a peer that does not wait: pause a little.
QUICK = 0.5
#: Copies started or waiting for the cut-off on behalf of the feeds, at most; beyond that an
#: announcement is left to the next pass (which finds the same segments missing).
MAX_BACKGROUND = 10_000


class FeedFollowers:
    def __init__(
        self,
        store: SegmentStore,
        copier: Copier,
        tombstones: TombstoneWriter,
        clock: Clock,
        cutoff: Callable[[str, str], timedelta],
        wake: Callable[[], None],
        timeout: float = 30.0,
        absent_retry: float = 600.0,
    ) -> None:
        self.store = store
        self.copier = copier
        self.tombstones = tombstones
        self.progress = tombstones.progress
        self.clock = clock
        self.cutoff = cutoff
        self.wake = wake
        self.timeout = timeout
        self.absent_retry = absent_retry
        #: the (cursor, instance) of each followed feed
        self.cursors: dict[Key, tuple[int, str]] = {}
        self.tasks: dict[Key, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._deferred: set[str] = set()
        self._absent: set[Key] = set()
        self._quick: set[Key] = set()

    def update(
        self, peers: Iterable[Peer], channels: Sequence[str], qualities: Sequence[str]
    ) -> None:
        """Follow every peer, channel and quality; stop following peers that are gone."""
        wanted = {(p.url, c, q): p for p in peers for c in channels for q in qualities}
        for key in set(self.tasks) - set(wanted):
            self.tasks.pop(key).cancel()
        for key, peer in wanted.items():
            if key not in self.tasks:
                self.tasks[key] = asyncio.create_task(self._follow(peer, key[1], key[2]))

    async def stop(self) -> None:
        tasks = [*self.tasks.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    async def _follow(self, peer: Peer, channel: str, quality: str) -> None:
        """Long-poll one peer's change feed for one channel and quality, until cancelled."""
        key = (peer.url, channel, quality)
        while True:
            wait = self.copier.state(peer).retry_at - self.clock.monotonic()
            if wait > 0:
                await self.clock.sleep(wait)
            started = self.clock.monotonic()
            try:
                offered = await self._follow_once(peer, channel, quality)
            except BadAnswer as err:
                self.copier.peer_misbehaved(peer, err, "feed")
                continue
            except RemoteError as err:
                self.copier.peer_failed(peer, err, "feed")
                continue
            except Exception:  # nothing a peer sends may stop the follower
                log.exception("peer %s: change feed for %s/%s failed", peer.name, channel, quality)
                await self.clock.sleep(1.0)
                continue
            if not offered:
                await self.clock.sleep(self.absent_retry)
            elif key in self._quick and self.clock.monotonic() - started < QUICK:
                await self.clock.sleep(QUICK)  # a peer that does not wait

    async def _follow_once(self, peer: Peer, channel: str, quality: str) -> bool:
        """One long-poll; False when the peer offers no feed (it is polled instead)."""
        key = (peer.url, channel, quality)
        cursor, instance = self.cursors.get(key, (None, ""))
        answer = await self.copier.client(peer).changes(channel, quality, cursor, self.timeout)
        if answer is None:
            if key not in self._absent:
                self._absent.add(key)
                log.info("peer %s offers no change feed for %s/%s; polling it",
                         peer.name, channel, quality)  # fmt: skip
            return False
        self._absent.discard(key)
        if cursor is not None and (answer.reset or answer.instance != instance):
            log.info("peer %s: change feed restarted; checking recent hours", peer.name)
            self.wake()
        elif cursor is not None:
            self.apply(peer, channel, quality, answer.changes)  # may raise BadAnswer
        self.cursors[key] = (answer.cursor, answer.instance)
        if cursor is not None and not answer.changes:
            self._quick.add(key)
        else:
            self._quick.discard(key)
        return True

    def apply(self, peer: Peer, channel: str, quality: str, changes: Sequence[Change]) -> None:
        """Act on announced names: tombstones now, copies now or once past the cut-off.

        Raises :class:`BadAnswer` (before acting on anything) when a name starts in the
        future; names this node cannot use are logged and counted (``progress.unusable``).
        """
        by_hour: dict[str, list[str]] = {}
        for change in changes:
            by_hour.setdefault(change.hour, []).append(change.name)
        now = self.clock.now()
        cutoff = self.cutoff(channel, quality)
        plans = []
        for hour, names in by_hour.items():
            plan = plan_hour(channel, quality, hour, (), names, now, cutoff)
            if plan.future:
                raise BadAnswer(f"change feed announced {len(plan.future)} names in {hour!r} "
                                f"that start in the future: {plan.future[0]!r}")  # fmt: skip
            try:
                local: list[str] | None = self.store.segment_names(
                    channel, quality, hour, tombstones=True
                )
            except ValueError:
                local = None  # an unsafe hour name from the peer
            plans.append((hour, names, local))
        for hour, names, local in plans:
            plan = plan_hour(channel, quality, hour, local or (), names, now, cutoff)
            self.progress.unusable(peer, channel, quality, f"{channel}/{quality}/{hour}", plan.bad)
            if local is None:
                continue
            self.tombstones.write((channel, quality, hour), plan.tombstones, local, names)
            self.progress.plan(len(plan.fetch))
            for segment in plan.fetch:
                self._spawn(self.copier.copy(segment, [peer]))
            for segment in plan.too_recent:
                if segment.path not in self._deferred and self._spawn(
                    self._copy_later(peer, segment)
                ):
                    self._deferred.add(segment.path)

    async def _copy_later(self, peer: Peer, segment: Replica) -> None:
        """Copy an announced segment once it is older than the cut-off, if still missing."""
        try:
            channel, quality = segment.channel, segment.quality
            due = segment.start + self.cutoff(channel, quality)
            await self.clock.sleep((due - self.clock.now()).total_seconds())
            local = self.store.segment_names(channel, quality, segment.hour, True)
            plan = plan_hour(channel, quality, segment.hour, local, [segment.name],
                             self.clock.now(), self.cutoff(channel, quality))  # fmt: skip
            if plan.fetch:
                self.progress.plan(1)
                await self.copier.copy(segment, [peer])
        finally:
            self._deferred.discard(segment.path)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> bool:
        """Run ``coroutine`` in the background; False (and not run) when too many do."""
        if len(self._background) >= MAX_BACKGROUND:
            coroutine.close()
            self.wake()  # the next pass finds what was left out
            return False
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return True
