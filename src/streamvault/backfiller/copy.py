"""Copying segments from peers (SPEC §8), verified by hash.

Each copy streams into a ``temp`` file in the right hour directory, is checked against the
SHA-256 in its name, and only then renamed to that name. A mismatch is discarded and counted,
and the segment is taken from another peer that lists it (now, or on a later pass).

:class:`Copier` keeps per-peer state: a bound on concurrent copies, and a growing back-off
for a peer that fails, so one bad peer never stalls copies from the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from ..backoff import Backoff
from ..clock import Clock
from ..errors import BadAnswer, HashMismatch, HTTPStatusError, RemoteError, StoreError
from ..logs import stream_logger
from ..store.chat_naming import ChatBatch
from ..store.disk import SegmentStore, TempFile
from .client import MAX_SEGMENT_BYTES, PeerClient
from .cutoff import OwnCopies
from .peers import Peer
from .plan import Replica
from .progress import Progress

log = logging.getLogger(__name__)

BACKOFF_BASE = 1.0
BACKOFF_CAP = 120.0
#: A copy whose only peers are backing off waits for them this long at most, then gives up
#: for this pass (a later pass tries again).
MAX_WAIT = 10.0
#: A peer that sent something no honest peer sends (see :mod:`.answers`) is left alone this long.
BAD_PEER_SECONDS = 300.0


def backoff_delay(failures: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to leave a peer alone after ``failures`` failures in a row: 1, 2, 4 ... cap."""
    return Backoff(base, cap).base(failures)


@dataclass(slots=True)
class PeerState:
    """What this node knows about one peer's health."""

    peer: Peer
    slots: asyncio.Semaphore
    failures: int = 0
    retry_at: float = 0.0  # clock.monotonic() before which the peer is left alone
    active: int = 0
    last_error: str = ""
    bad: bool = False  # marked bad (until retry_at) for an answer no honest peer sends

    def available(self, now: float) -> bool:
        return now >= self.retry_at

    def failed(self, now: float, error: str) -> float:
        self.failures += 1
        self.last_error = error
        delay = backoff_delay(self.failures)
        self.retry_at = now + delay
        return delay

    def misbehaved(self, now: float, error: str, seconds: float) -> bool:
        """Leave the peer alone for ``seconds``; True if it was not marked bad already."""
        newly = not (self.bad and now < self.retry_at)
        self.bad = True
        self.last_error = error
        self.retry_at = max(self.retry_at, now + seconds)
        return newly

    def succeeded(self) -> None:
        self.failures = 0
        self.retry_at = 0.0
        self.bad = False


async def open_temp(opener: Callable[[], TempFile]) -> TempFile:
    """Create a temp file in a worker thread (it may have to make directories).

    A thread cannot be cancelled: a copy cancelled while its temp file is being created (a
    node stopping) waits for the thread and removes the file, instead of leaving it behind.
    """
    opening = asyncio.ensure_future(asyncio.to_thread(opener))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            (await opening).discard()
        raise


async def copy_segment(client: PeerClient, store: SegmentStore, segment: Replica) -> int:
    """Copy one segment (or chat batch) from a peer into the store; returns its size.

    Raises ``HashMismatch`` (nothing is kept), ``RemoteError`` or ``StoreError``.
    """
    temp = await open_temp(lambda: store.open_copy(segment))
    committed = False
    try:
        await client.fetch_into(segment, temp)
        if temp.hash != segment.hash:
            raise HashMismatch(
                f"{client.peer.shown_url} sent {temp.size} bytes hashing to {temp.hash} "
                f"for {segment.path}"
            )
        await asyncio.to_thread(temp.commit, segment.name)
        committed = True
        return temp.size
    finally:
        if not committed:
            temp.discard()


@dataclass(slots=True)
class _Bad:
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (segment path, peer url)


class Copier:
    """Copies segments from whichever peer that holds them is healthy and least busy."""

    def __init__(
        self,
        store: SegmentStore,
        session: aiohttp.ClientSession,
        clock: Clock,
        progress: Progress,
        per_peer: int = 4,
        listing_timeout: float = 20.0,
        max_segment_bytes: int = MAX_SEGMENT_BYTES,
        bad_peer_seconds: float = BAD_PEER_SECONDS,
    ) -> None:
        self.store = store
        self.session = session
        self.clock = clock
        self.progress = progress
        self.per_peer = per_peer
        self.listing_timeout = listing_timeout
        self.max_segment_bytes = max_segment_bytes
        self.bad_peer_seconds = bad_peer_seconds
        self._states: dict[str, PeerState] = {}
        self._clients: dict[str, PeerClient] = {}
        self._in_flight: dict[str, asyncio.Future[bool | None]] = {}
        self._bad = _Bad()
        self.own = OwnCopies()  # what this backfiller copied (not the downloader's)

    def state(self, peer: Peer) -> PeerState:
        state = self._states.get(peer.url)
        if state is None:
            state = self._states[peer.url] = PeerState(peer, asyncio.Semaphore(self.per_peer))
        return state

    def client(self, peer: Peer) -> PeerClient:
        client = self._clients.get(peer.url)
        if client is None:
            client = self._clients[peer.url] = PeerClient(
                self.session, peer, self.listing_timeout, self.max_segment_bytes
            )
        return client

    def available(self, peer: Peer) -> bool:
        return self.state(peer).available(self.clock.monotonic())

    def peer_failed(self, peer: Peer, error: Exception, what: str) -> None:
        """Count a failure and back the peer off."""
        state = self.state(peer)
        delay = state.failed(self.clock.monotonic(), str(error))
        self.progress.error(peer, what)
        log.warning("peer %s: %s failed (%s); backing off %.0f s", peer.name, what, error, delay)

    def peer_misbehaved(self, peer: Peer, error: Exception, what: str) -> None:
        """Mark a peer bad for a while: it sent what no honest peer sends. Logged once."""
        state = self.state(peer)
        self.progress.bad_answer(peer, what)
        if state.misbehaved(self.clock.monotonic(), str(error), self.bad_peer_seconds):
            log.warning(
                "peer %s: bad %s (%s); leaving it alone for %.0f s",
                peer.name, what, error, self.bad_peer_seconds,
            )  # fmt: skip

    def peer_ok(self, peer: Peer) -> None:
        state = self.state(peer)
        if state.bad and state.available(self.clock.monotonic()):
            log.info("peer %s: answering well again", peer.name)
        elif state.failures:
            log.info("peer %s: answering again", peer.name)
        state.succeeded()

    def is_local(self, segment: Replica) -> bool:
        return os.path.exists(self.store.segment_path(segment))

    async def copy(self, segment: Replica, candidates: Sequence[Peer]) -> bool | None:
        """Copy ``segment`` from one of ``candidates``; True when it is here afterwards, None
        when it is a chat batch every peer asked had merged away (404: nothing is missing).

        The same segment is never copied twice at once: a second caller waits for the first,
        and tries its own candidates only if the first failed. Each call counts once in the
        progress: copied, failed, or already here (the other caller's copy, or the
        downloader's file).
        """
        while (running := self._in_flight.get(segment.path)) is not None:
            if await asyncio.shield(running):
                self.progress.present()
                return True
        if self.is_local(segment):
            self.progress.present()
            return True
        future: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self._in_flight[segment.path] = future
        result: bool | None = False
        try:
            result = await self._copy(segment, candidates)
        finally:
            del self._in_flight[segment.path]
            future.set_result(result)
        return result

    def _choices(self, segment: Replica, candidates: Sequence[Peer], tried: set[str]) -> list[Peer]:
        return [
            p
            for p in candidates
            if p.url not in tried and (segment.path, p.url) not in self._bad.pairs
        ]

    async def _copy(self, segment: Replica, candidates: Sequence[Peer]) -> bool | None:
        slog = stream_logger(log, segment.channel, segment.quality)
        tried: set[str] = set()
        gone = 0  # peers that listed a chat batch but no longer have it
        while choices := self._choices(segment, candidates, tried):
            now = self.clock.monotonic()
            ready = [p for p in choices if self.state(p).available(now)]
            if not ready:
                wait = min(self.state(p).retry_at for p in choices) - now
                if wait > MAX_WAIT:
                    break
                await self.clock.sleep(wait)
                continue
            peer = min(ready, key=lambda p: self.state(p).active)
            tried.add(peer.url)
            outcome = await self._copy_from(peer, segment, slog)
            if outcome is True:
                return True
            gone += outcome is None
        if gone and gone == len(tried):
            # every peer asked had merged it away: normal for chat, nothing is missing
            self.progress.gone(segment)
            return None
        self.progress.failed(segment)
        slog.warning(
            "could not copy %s from any of %d peers this pass", segment.name, len(candidates)
        )
        return False

    async def _copy_from(
        self,
        peer: Peer,
        segment: Replica,
        slog: logging.LoggerAdapter,  # type: ignore[type-arg]
    ) -> bool | None:
        """True when copied (or already here), None when a listed chat batch is gone (404),
        False when the copy failed."""
        state = self.state(peer)
        state.active += 1
        try:
            async with state.slots:
                if self.is_local(segment):  # written meanwhile, by the downloader
                    self.progress.present()
                    return True
                size = await copy_segment(self.client(peer), self.store, segment)
        except HashMismatch as err:
            self._bad.pairs.add((segment.path, peer.url))
            self.progress.mismatch(peer)
            slog.error("hash mismatch, copy discarded: %s", err)
            return False
        except BadAnswer as err:
            self.peer_misbehaved(peer, err, "segment")
            return False
        except HTTPStatusError as err:
            if err.status == 404 and isinstance(segment, ChatBatch):
                slog.info("peer %s no longer has chat batch %s (merged away)", peer.name,
                          segment.name)  # fmt: skip
                return None
            if err.status >= 500:
                self.peer_failed(peer, err, "segment")
            else:
                self.progress.error(peer, "segment")
                slog.warning("peer %s: %s", peer.name, err)
            return False
        except RemoteError as err:
            self.peer_failed(peer, err, "segment")
            return False
        except StoreError as err:
            self.progress.error(peer, "store")
            slog.error("could not store %s: %s", segment.name, err)
            return False
        finally:
            state.active -= 1
        self.own.add(segment.path)
        self.peer_ok(peer)
        lag = (self.clock.now() - segment.end).total_seconds()
        self.progress.copied(peer, segment, size, lag)
        slog.debug("copied %s from %s (%d bytes)", segment.name, peer.name, size)
        return True
