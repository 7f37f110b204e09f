"""Backfill progress and metrics.

A node that joins late copies days of video; an operator wants to see how far it got and
when it will be done: a log line with count, bytes, rate and ETA every few seconds, and the
same numbers as metrics. Per peer: segments and bytes copied, hash mismatches, errors and
replication lag.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from ..clock import Clock
from ..store.chat_naming import ChatBatch
from ..store.naming import Segment
from .peers import Peer

#: Unusable names are logged once each; past this many the memory of them starts afresh.
UNUSABLE_MEMORY = 100_000

log = logging.getLogger(__name__)

SEGMENTS = Counter(
    "streamvault_backfill_segments", "Segments copied from a peer", ["peer", "channel", "quality"]
)
BYTES = Counter(
    "streamvault_backfill_bytes",
    "Bytes of segments copied from a peer",
    ["peer", "channel", "quality"],
)
MISMATCHES = Counter(
    "streamvault_backfill_hash_mismatches",
    "Copies discarded because their bytes did not match the hash in their name",
    ["peer"],
)
ERRORS = Counter(
    "streamvault_backfill_errors", "Failed requests to a peer, by what was asked", ["peer", "kind"]
)
LAG = Histogram(
    "streamvault_backfill_replication_lag_seconds",
    "Time from a segment's end to its copy being saved here",
    ["peer"],
    buckets=(0.5, 1, 2, 3, 5, 10, 30, 60, 120, 300, 900, 3600, 6 * 3600, 24 * 3600, float("inf")),
)
FAILED = Counter(
    "streamvault_backfill_failed_segments",
    "Segments no peer could supply on a pass",
    ["channel", "quality"],
)
TOMBSTONES = Counter(
    "streamvault_backfill_tombstones", "Tombstones replicated from peers", ["channel", "quality"]
)
UNUSABLE = Counter(
    "streamvault_backfill_unusable_names",
    "Distinct names a peer listed that this node cannot use (not a segment, chat batch or"
    " tombstone name; an unsafe extras path), each counted once",
    ["peer", "channel", "quality"],
)
GONE = Counter(
    "streamvault_backfill_gone_chat_batches",
    "Chat batches a peer listed but no longer had when fetched (merged away): normal",
    ["channel"],
)
BAD_ANSWERS = Counter(
    "streamvault_backfill_bad_answers",
    "Answers from a peer that no honest peer sends (too large, too deep, malformed or "
    "future-dated names); the peer is left alone for a while",
    ["peer", "kind"],
)
TOMBSTONES_HELD = Gauge(
    "streamvault_backfill_tombstones_held_hours",
    "Hours whose tombstones from peers are held back: they would hide more than the allowed "
    "share of the hour, until an operator accepts them",
    ["channel", "quality"],
)
PENDING = Gauge("streamvault_backfill_pending_segments", "Segments planned but not yet copied")
RATE = Gauge("streamvault_backfill_rate_bytes_per_second", "Recent copy rate")
ETA = Gauge("streamvault_backfill_eta_seconds", "Estimated time to copy the pending segments")
PEERS = Gauge("streamvault_backfill_peers", "Peers known, and how many are backing off", ["state"])


@dataclass(frozen=True, slots=True)
class Snapshot:
    planned: int
    copied: int
    failed: int
    bytes: int
    rate: float  # bytes per second over the recent window
    eta: float | None  # seconds, None when unknown
    present: int = 0  # planned, then found here before the copy (the downloader wrote it)

    @property
    def done(self) -> int:
        return self.copied + self.present

    @property
    def pending(self) -> int:
        return max(0, self.planned - self.done - self.failed)


def format_bytes(value: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def format_line(s: Snapshot) -> str:
    eta = "?" if s.eta is None else f"{s.eta:.0f} s"
    present = f"{s.present} already here, " if s.present else ""
    return (
        f"backfill: {s.done}/{s.planned} segments copied "
        f"({present}{s.failed} failed, {s.pending} pending), "
        f"{format_bytes(s.bytes)}, {format_bytes(s.rate)}/s, ETA {eta}"
    )


@dataclass(slots=True)
class Progress:
    """Counts for this run; also feeds the Prometheus metrics."""

    clock: Clock
    window: float = 10.0
    planned: int = 0
    copied_count: int = 0
    failed_count: int = 0
    present_count: int = 0
    bytes: int = 0
    mismatches: int = 0
    errors: int = 0
    tombstones: int = 0
    failed_examples: list[str] = field(default_factory=list)
    unusable_count: int = 0
    _unusable_seen: set[tuple[str, str]] = field(default_factory=set)
    _samples: collections.deque[tuple[float, int]] = field(default_factory=collections.deque)

    def plan(self, count: int) -> None:
        self.planned += count
        PENDING.set(self.snapshot().pending)

    def unusable(
        self, peer: Peer, channel: str, quality: str, folder: str, names: Iterable[str]
    ) -> None:
        """Names ``peer`` lists in ``folder`` that this node cannot use: a WARNING and a count,
        once each (a peer lists the same names on every pass)."""
        for name in names:
            key = (peer.url, f"{folder}/{name}")
            if key in self._unusable_seen:
                continue
            if len(self._unusable_seen) >= UNUSABLE_MEMORY:
                self._unusable_seen.clear()
            self._unusable_seen.add(key)
            self.unusable_count += 1
            UNUSABLE.labels(peer.name, channel, quality).inc()
            log.warning(
                "peer %s lists %s/%s, which this node cannot use; ignoring it",
                peer.name, folder, name,
            )  # fmt: skip

    def gone(self, batch: Segment | ChatBatch) -> None:
        """A planned chat batch no peer has any more (merged away): no longer planned."""
        self.planned = max(0, self.planned - 1)
        GONE.labels(batch.channel).inc()

    def copied(self, peer: Peer, segment: Segment | ChatBatch, size: int, lag: float) -> None:
        self.copied_count += 1
        self.bytes += size
        self._samples.append((self.clock.monotonic(), self.bytes))
        SEGMENTS.labels(peer.name, segment.channel, segment.quality).inc()
        BYTES.labels(peer.name, segment.channel, segment.quality).inc(size)
        LAG.labels(peer.name).observe(max(0.0, lag))

    def present(self) -> None:
        """A planned segment turned out to be here already: done, without a copy."""
        self.present_count += 1

    def failed(self, segment: Segment | ChatBatch) -> None:
        self.failed_count += 1
        if len(self.failed_examples) < 10:
            self.failed_examples.append(segment.path)
        FAILED.labels(segment.channel, segment.quality).inc()

    def mismatch(self, peer: Peer) -> None:
        self.mismatches += 1
        MISMATCHES.labels(peer.name).inc()

    def error(self, peer: Peer, kind: str) -> None:
        self.errors += 1
        ERRORS.labels(peer.name, kind).inc()

    def bad_answer(self, peer: Peer, kind: str) -> None:
        self.errors += 1
        BAD_ANSWERS.labels(peer.name, kind).inc()

    def tombstone(self, segment: Segment | ChatBatch) -> None:
        self.tombstones += 1
        TOMBSTONES.labels(segment.channel, segment.quality).inc()

    def rate(self) -> float:
        now = self.clock.monotonic()
        while self._samples and now - self._samples[0][0] > self.window:
            self._samples.popleft()
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        span = max(now - t0, t1 - t0)
        return (b1 - b0) / span if span > 0 else 0.0

    def snapshot(self) -> Snapshot:
        rate = self.rate()
        done = self.copied_count + self.present_count
        pending = max(0, self.planned - done - self.failed_count)
        eta: float | None = None
        if pending == 0:
            eta = 0.0
        elif rate > 0 and self.copied_count:
            eta = pending * (self.bytes / self.copied_count) / rate
        return Snapshot(
            self.planned,
            self.copied_count,
            self.failed_count,
            self.bytes,
            rate,
            eta,
            self.present_count,
        )

    def publish(self) -> Snapshot:
        snap = self.snapshot()
        PENDING.set(snap.pending)
        RATE.set(snap.rate)
        ETA.set(snap.eta if snap.eta is not None else float("nan"))
        return snap

    async def report(self, interval: float = 5.0) -> None:
        """Log a progress line every ``interval`` seconds while copies are pending (and once
        more when they are done)."""
        last: tuple[int, int, int] | None = None
        while True:
            await self.clock.sleep(interval)
            snap = self.publish()
            state = (snap.planned, snap.copied, snap.failed)
            if snap.pending or (state != last and snap.planned):
                log.info("%s", format_line(snap))
            last = state
