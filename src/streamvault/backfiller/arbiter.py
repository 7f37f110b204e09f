"""Hash consensus in the backfiller (SPEC §15): the shell around :mod:`.consensus`.

A pass hands :meth:`Arbiter.review` the listings of an hour it has already fetched (this
node's and every answering peer's). The arbiter finds the disagreements, compares bytes where
the prefix rule needs them (a peer's candidate is fetched into a ``temp`` file in the hour
directory, checked against its hash, compared and removed; at most ``MAX_COMPARISONS`` per
pass), decides, and says what to copy and what not to. Once the pass's copies are done,
:meth:`Arbiter.settle` tombstones this node's losers, each only if the winner is here.

Every disagreement is counted once per outcome in ``streamvault_hash_disagreements_total``,
logged once, and recorded under ``BASE/.streamvault/disagreements`` (the coverage JSON lists
it from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from ..errors import RemoteError, StoreError
from ..logs import stream_logger
from ..store import disagreements
from ..store.disk import SegmentStore, TempFile
from ..store.naming import Segment
from ..timeutil import format_iso
from .consensus import (
    FINAL_OUTCOMES,
    Decision,
    Disagreement,
    Evidence,
    decide,
    find_disagreements,
    local_actions,
    needs_bytes,
)
from .copy import Copier, open_temp
from .peers import Peer

log = logging.getLogger(__name__)

HASH_DISAGREEMENTS = Counter(
    "streamvault_hash_disagreements",
    "Full segments of one start and duration held with different hashes, by how they were "
    "decided (majority, prefix, undecidable); each counted once per outcome",
    ["outcome"],
)
CONSENSUS_TOMBSTONES = Counter(
    "streamvault_hash_consensus_tombstones",
    "Losing versions of disputed segments hidden here, each once the winner was here",
    ["channel", "quality"],
)

#: This node's name among the holders of a version (peers are named by their URL).
SELF = "self"
#: Disagreements whose bytes one pass may compare (each may fetch a segment per version).
MAX_COMPARISONS = 8
#: Compared sets of versions remembered, so an undecidable tie is not fetched every pass.
EVIDENCE_CACHE = 1024
#: Hours whose records are kept in memory.
RECORD_CACHE = 256
CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class Review:
    """What consensus asks of a pass over one hour."""

    hold_back: frozenset[str] = frozenset()  # segment names not to copy
    fetch: tuple[tuple[Segment, tuple[Peer, ...]], ...] = ()  # winners to copy, from whom
    decisions: tuple[Decision, ...] = ()


def is_prefix(short_path: str, long_path: str) -> bool:
    """Whether the bytes of one file are a prefix of another's (read in chunks)."""
    with open(short_path, "rb") as short, open(long_path, "rb") as long:
        while chunk := short.read(CHUNK):
            if long.read(len(chunk)) != chunk:
                return False
    return True


def to_record(decision: Decision) -> disagreements.Record:
    d = decision.disagreement
    return {
        "start": format_iso(d.start),
        "duration": d.duration,
        "outcome": decision.outcome,
        "winner": decision.winner.name if decision.winner else None,
        "reason": decision.reason,
        "versions": [
            {"name": v.segment.name, "hash": v.hash, "holders": sorted(v.holders)}
            for v in d.versions
        ],
    }


def _record_key(record: disagreements.Record) -> str:
    return f"{record.get('start')}/{record.get('duration')}"


def _same_verdict(old: disagreements.Record, new: disagreements.Record) -> bool:
    def hashes(record: disagreements.Record) -> set[str]:
        return {str(v.get("hash")) for v in record.get("versions", []) if isinstance(v, dict)}

    return (
        old.get("outcome") == new["outcome"]
        and old.get("winner") == new["winner"]
        and hashes(old) == hashes(new)
    )


class Arbiter:
    def __init__(self, store: SegmentStore, copier: Copier) -> None:
        self.store = store
        self.copier = copier
        self._evidence: OrderedDict[frozenset[str], Evidence] = OrderedDict()
        self._records: OrderedDict[tuple[str, str, str], dict[str, disagreements.Record]] = (
            OrderedDict()
        )
        self._settle: dict[str, tuple[Segment, Segment]] = {}  # loser path -> (loser, winner)
        self._budget = MAX_COMPARISONS

    def begin_pass(self) -> None:
        self._budget = MAX_COMPARISONS

    async def review(
        self,
        channel: str,
        quality: str,
        hour: str,
        local_names: Sequence[str],
        answers: Sequence[tuple[Peer, Sequence[str]]],
        complete: bool,
    ) -> Review:
        """Decide the hour's disagreements; ``complete``: every known peer answered."""
        listings = {SELF: local_names} | {peer.url: names for peer, names in answers}
        found = find_disagreements(channel, quality, hour, listings)
        if not found:
            return Review()
        peers = {peer.url: peer for peer, _ in answers}
        decisions = []
        for disagreement in found:
            evidence = None
            if complete:
                evidence = await self._evidence_for(disagreement, peers)
            decisions.append(decide(disagreement, evidence, complete))
        hold: set[str] = set()
        fetch: list[tuple[Segment, tuple[Peer, ...]]] = []
        for decision in decisions:
            actions = local_actions(decision, SELF)
            hold |= actions.hold_back
            if actions.fetch is not None:
                holders = decision.disagreement.version(actions.fetch.hash).holders
                fetch.append(
                    (actions.fetch, tuple(peers[u] for u in sorted(holders) if u in peers))
                )
            for loser in actions.tombstone:
                assert decision.winner is not None
                self._settle[loser.path] = (loser, decision.winner)
        await asyncio.to_thread(self._record, channel, quality, hour, decisions)
        return Review(frozenset(hold), tuple(fetch), tuple(decisions))

    # --- settling: the one step that hides anything ----------------------------------------

    async def settle(self) -> int:
        """Tombstone the losers found this pass whose winner is here now; returns how many."""
        hidden = 0
        pending, self._settle = self._settle, {}
        for loser, winner in pending.values():
            try:
                if await asyncio.to_thread(self._hide, loser, winner):
                    hidden += 1
            except (StoreError, OSError) as err:
                stream_logger(log, loser.channel, loser.quality).error(
                    "hash consensus: could not hide %s: %s", loser.name, err
                )
        return hidden

    def _visible(self, segment: Segment) -> bool:
        names = self.store.segment_names(segment.channel, segment.quality, segment.hour)
        return segment.name in names

    def _hide(self, loser: Segment, winner: Segment) -> bool:
        """Hide ``loser`` if it is still visible and ``winner`` is here and visible, unless
        the winner is the loser cut short (then the next pass decides on those bytes)."""
        if not self._visible(loser) or not self._visible(winner):
            return False
        winner_path, loser_path = self.store.segment_path(winner), self.store.segment_path(loser)
        if os.stat(winner_path).st_size < os.stat(loser_path).st_size and is_prefix(
            winner_path, loser_path
        ):
            stream_logger(log, loser.channel, loser.quality).warning(
                "hash consensus: not hiding %s: %s is a byte prefix of it", loser.name, winner.name
            )
            return False
        self.store.write_tombstone(loser)
        CONSENSUS_TOMBSTONES.labels(loser.channel, loser.quality).inc()
        stream_logger(log, loser.channel, loser.quality).info(
            "hash consensus: hid %s; %s stays", loser.name, winner.name
        )
        return True

    # --- comparing bytes -------------------------------------------------------------------

    async def _evidence_for(
        self, disagreement: Disagreement, peers: dict[str, Peer]
    ) -> Evidence | None:
        """Bytes compared: of the tied versions (fetching a peer's, within the pass's budget),
        or, without a tie, of the versions this node holds itself (free: the majority guard)."""
        tied = needs_bytes(disagreement)
        if not tied:
            mine = tuple(v.segment for v in disagreement.versions if SELF in v.holders)
            if len(mine) < 2:
                return None
            paths = {s.hash: self.store.segment_path(s) for s in mine}
            return await asyncio.to_thread(_compare, paths)
        key = frozenset(s.hash for s in tied)
        cached = self._evidence.get(key)
        if cached is not None:
            self._evidence.move_to_end(key)
            return cached
        if self._budget <= 0:
            return None
        self._budget -= 1
        temps: list[TempFile] = []
        try:
            fetched: dict[str, str] = {}
            for segment in tied:
                path = await self._bytes_of(disagreement, segment, peers, temps)
                if path is None:
                    return None
                fetched[segment.hash] = path
            evidence = await asyncio.to_thread(_compare, fetched)
        finally:
            for temp in temps:
                temp.discard()
        self._evidence[key] = evidence
        while len(self._evidence) > EVIDENCE_CACHE:
            self._evidence.popitem(last=False)
        return evidence

    async def _bytes_of(
        self,
        disagreement: Disagreement,
        segment: Segment,
        peers: dict[str, Peer],
        temps: list[TempFile],
    ) -> str | None:
        """A path holding the bytes of ``segment``: the local file, or a verified temp copy."""
        holders = disagreement.version(segment.hash).holders
        if SELF in holders:
            return self.store.segment_path(segment)
        for url in sorted(holders):
            peer = peers.get(url)
            if peer is None or not self.copier.available(peer):
                continue
            temp = await open_temp(
                lambda: self.store.open_segment(
                    segment.channel, segment.quality, segment.start, segment.duration
                )
            )
            temps.append(temp)
            try:
                await self.copier.client(peer).fetch_into(segment, temp)
            except (RemoteError, StoreError) as err:
                log.warning("hash consensus: could not fetch %s from %s: %s",
                            segment.name, peer.name, err)  # fmt: skip
                continue
            if temp.hash == segment.hash:
                return temp.path
            log.error("hash consensus: %s sent bytes not matching %s", peer.name, segment.name)
        return None

    # --- the record ------------------------------------------------------------------------

    def _hour_records(
        self, channel: str, quality: str, hour: str
    ) -> dict[str, disagreements.Record]:
        key = (channel, quality, hour)
        records = self._records.get(key)
        if records is None:
            loaded = disagreements.read_hour(self.store.base_dir, channel, quality, hour)
            records = self._records[key] = {_record_key(r): r for r in loaded}
            while len(self._records) > RECORD_CACHE:
                self._records.popitem(last=False)
        self._records.move_to_end(key)
        return records

    def _record(self, channel: str, quality: str, hour: str, decisions: Sequence[Decision]) -> None:
        """Record, count and log each decision whose verdict is new; write the hour if any."""
        records = self._hour_records(channel, quality, hour)
        changed = False
        slog = stream_logger(log, channel, quality)
        for decision in decisions:
            record = to_record(decision)
            key = _record_key(record)
            old = records.get(key)
            if old is not None and _same_verdict(old, record):
                continue
            records[key] = record
            changed = True
            if decision.outcome not in FINAL_OUTCOMES:
                slog.debug("hash disagreement at %s pending: %s", record["start"], decision.reason)
                continue
            HASH_DISAGREEMENTS.labels(decision.outcome).inc()
            versions = ", ".join(
                f"{v['name']} ({len(v['holders'])} nodes)" for v in record["versions"]
            )
            if decision.winner is None:
                slog.warning("hash disagreement at %s undecidable (%s), all kept: %s",
                             record["start"], decision.reason, versions)  # fmt: skip
            else:
                slog.info("hash disagreement at %s decided by %s for %s (%s): %s",
                          record["start"], decision.outcome, decision.winner.name,
                          decision.reason, versions)  # fmt: skip
        if changed:
            ordered = sorted(records.values(), key=lambda r: str(r.get("start")))
            with contextlib.suppress(OSError):
                disagreements.write_hour(self.store.base_dir, channel, quality, hour, ordered)


def _compare(paths: dict[str, str]) -> Evidence:
    """Sizes of each version, and every pair of which the shorter is a prefix of the longer."""
    sizes = {hash: os.stat(path).st_size for hash, path in paths.items()}
    prefixes = frozenset(
        (short, long)
        for short in paths
        for long in paths
        if sizes[short] < sizes[long] and is_prefix(paths[short], paths[long])
    )
    return Evidence(sizes, prefixes)
