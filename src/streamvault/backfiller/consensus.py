"""Hash consensus between nodes (SPEC §15). Pure: listings in, decisions out; no I/O.

A node with connection trouble can end up with a ``full`` segment that is identical to
everyone else's up to a point and then cut short (Twitch's edge closes a slow request cleanly).
Two ``full`` files with the same start (within 1 ms) and duration but different hashes are a
**disagreement**. It is decided

1. by **majority** of the nodes that hold a version (visible, not tombstoned anywhere);
2. on a tie, by the **prefix rule**: the longest tied version wins when every other tied
   version is a byte prefix of it. That needs the bytes, which the shell compares and hands in
   as :class:`Evidence`;
3. otherwise it is **undecidable**: kept on every side and reported, never guessed.

One guard sits on the majority: copies count as votes, so a short version copied to a node
before its own download landed can outvote the whole one. When the bytes at hand show the
majority's version to be a byte prefix of a longer one, it was cut short: the prefix rule
decides instead (outcome ``prefix``), and the shell never hides a version the winner is a
prefix of. "Nothing any node received whole is lost" (SPEC §15) outranks a head count.

A decision is only taken on a complete view (every peer answered for the hour); until then,
or until the bytes are compared, it is **pending**. Deciding never depends on the order in
which the peers' listings come: versions and holders are sets, ties are broken by nothing.

:func:`local_actions` then says what this node does: copy the winner, and tombstone its own
losers only once the winner is here (a node never hides its only copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from ..errors import BadTime, MalformedName
from ..store.naming import (
    Segment,
    hidden_segment_name,
    is_temp_name,
    is_tombstone_name,
    parse_name,
)
from ..timeutil import parse_hour

Outcome = Literal["majority", "prefix", "undecidable", "pending"]
#: Outcomes that are final for a given set of versions (counted once each).
FINAL_OUTCOMES: tuple[Outcome, ...] = ("majority", "prefix", "undecidable")
#: Two files whose starts differ by no more than this are the same segment (SPEC §8).
START_TOLERANCE = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Version:
    """One hash of a disputed segment, and the nodes that hold it."""

    segment: Segment
    holders: frozenset[str]

    @property
    def hash(self) -> str:
        return self.segment.hash


@dataclass(frozen=True, slots=True)
class Disagreement:
    """``full`` files of one start and duration with different hashes (versions by hash)."""

    channel: str
    quality: str
    start: datetime
    duration: float
    versions: tuple[Version, ...]

    @property
    def key(self) -> tuple[str, str, datetime, float, frozenset[str]]:
        """Identifies this disagreement and its set of versions (for counting once)."""
        hashes = frozenset(v.hash for v in self.versions)
        return (self.channel, self.quality, self.start, self.duration, hashes)

    def version(self, hash: str) -> Version:
        return next(v for v in self.versions if v.hash == hash)

    def tied(self) -> tuple[Version, ...]:
        """The versions held by the most nodes (one, unless there is a tie)."""
        most = max(len(v.holders) for v in self.versions)
        return tuple(v for v in self.versions if len(v.holders) == most)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the bytes of some versions say: their sizes, and which is a prefix of which."""

    sizes: Mapping[str, int] = field(default_factory=dict)  # hash -> bytes
    #: every (shorter, longer) pair of the versions compared where one is a byte prefix
    prefixes: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    disagreement: Disagreement
    outcome: Outcome
    winner: Segment | None
    reason: str

    @property
    def losers(self) -> tuple[Segment, ...]:
        if self.winner is None:
            return ()
        return tuple(
            v.segment for v in self.disagreement.versions if v.segment.name != self.winner.name
        )


@dataclass(frozen=True, slots=True)
class LocalActions:
    """What one node does about one decision."""

    fetch: Segment | None = None  # the winner, when this node lacks it
    tombstone: tuple[Segment, ...] = ()  # own losers, to hide once the winner is here
    hold_back: frozenset[str] = frozenset()  # segment names not to copy here


def _parse(channel: str, quality: str, hour: datetime, name: str) -> Segment | None:
    try:
        return parse_name(channel, quality, hour, name)
    except MalformedName:
        return None


def find_disagreements(
    channel: str,
    quality: str,
    hour: str,
    listings: Mapping[str, Iterable[str]],
    tolerance: timedelta = START_TOLERANCE,
) -> list[Disagreement]:
    """Disagreements in one hour directory across nodes, in time order.

    ``listings`` maps a node's name to its listing of the hour (segment and tombstone names, as
    ``/files/C/Q/HOUR?tombstones=true`` gives them); this node is one of the entries. A segment
    tombstoned on any node counts nowhere: that tombstone is replicating.
    """
    try:
        hour_start = parse_hour(hour)
    except BadTime:
        return []
    names = {node: list(listing) for node, listing in listings.items()}
    hidden = {
        hidden_segment_name(n)
        for listing in names.values()
        for n in listing
        if is_tombstone_name(n)
    }
    holders: dict[str, set[str]] = {}
    segments: dict[str, Segment] = {}
    for node, listing in names.items():
        for name in listing:
            if name in hidden or is_tombstone_name(name) or is_temp_name(name):
                continue
            segment = segments.get(name) or _parse(channel, quality, hour_start, name)
            if segment is None or not segment.is_full:
                continue
            segments[name] = segment
            holders.setdefault(name, set()).add(node)
    found = []
    for group in _same_slot(segments.values(), tolerance):
        if len({s.hash for s in group}) < 2:
            continue
        versions = tuple(
            Version(s, frozenset(holders[s.name])) for s in sorted(group, key=lambda s: s.hash)
        )
        first = min(group, key=lambda s: (s.start, s.hash))
        found.append(Disagreement(channel, quality, first.start, first.duration, versions))
    return found


def _same_slot(segments: Iterable[Segment], tolerance: timedelta) -> list[list[Segment]]:
    """Group segments of equal duration whose starts chain within ``tolerance``."""
    groups: list[list[Segment]] = []
    for segment in sorted(segments, key=lambda s: (s.duration, s.start, s.hash)):
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.duration == segment.duration
            and segment.start - last.start <= tolerance
        ):
            groups[-1].append(segment)
        else:
            groups.append([segment])
    return groups


def needs_bytes(disagreement: Disagreement) -> tuple[Segment, ...]:
    """The versions whose bytes the prefix rule must compare (none when a majority decides)."""
    tied = disagreement.tied()
    return () if len(tied) < 2 else tuple(v.segment for v in tied)


def decide(disagreement: Disagreement, evidence: Evidence | None, complete: bool) -> Decision:
    """Decide one disagreement (majority, then prefix rule); never guesses.

    ``complete`` says every node's listing of the hour is in; ``evidence`` covers (at least)
    the tied versions when there is a tie. A winner that the evidence shows to be a longer
    version cut short loses to the prefix rule over every version the evidence covers.
    """
    if not complete:
        return Decision(disagreement, "pending", None, "not every peer answered")
    tied = disagreement.tied()
    if len(tied) == 1:
        most = tied[0]
        decision = Decision(
            disagreement, "majority", most.segment,
            f"{len(most.holders)} of {_holder_count(disagreement)} nodes hold it",
        )  # fmt: skip
    else:
        sizes = evidence.sizes if evidence is not None else {}
        if any(v.hash not in sizes for v in tied):
            return Decision(disagreement, "pending", None, "tied; bytes not compared yet")
        assert evidence is not None
        decision = _by_prefix(disagreement, tied, evidence, "tied")
    winner = decision.winner
    if winner is not None and evidence is not None and cut_short(winner.hash, evidence):
        known = tuple(v for v in disagreement.versions if v.hash in evidence.sizes)
        why = f"the {decision.outcome} version is a longer one cut short"
        return _by_prefix(disagreement, known, evidence, why)
    return decision


def cut_short(hash: str, evidence: Evidence) -> bool:
    """Whether the bytes show version ``hash`` to be a byte prefix of a longer version."""
    return any(
        short == hash and evidence.sizes.get(short, 0) < evidence.sizes.get(long, 0)
        for short, long in evidence.prefixes
    )


def _by_prefix(
    disagreement: Disagreement, tied: tuple[Version, ...], evidence: Evidence, why: str
) -> Decision:
    """The longest of ``tied`` when every other one is a byte prefix of it."""
    sizes = evidence.sizes
    longest = max(sizes[v.hash] for v in tied)
    top = [v for v in tied if sizes[v.hash] == longest]
    if len(top) > 1:
        return Decision(
            disagreement, "undecidable", None,
            f"{why} between {len(tied)} versions, {len(top)} of them {longest} bytes long",
        )  # fmt: skip
    winner = top[0]
    short = [v for v in tied if v is not winner]
    if all((v.hash, winner.hash) in evidence.prefixes for v in short):
        return Decision(
            disagreement, "prefix", winner.segment,
            f"{why}; the other {len(short)} version(s) are byte prefixes of this one",
        )  # fmt: skip
    return Decision(
        disagreement, "undecidable", None, f"{why}; no version is a prefix of the other"
    )


def _holder_count(disagreement: Disagreement) -> int:
    return len(frozenset().union(*(v.holders for v in disagreement.versions)))


def local_actions(decision: Decision, node: str) -> LocalActions:
    """What ``node`` does: copy the winner if it lacks it, hide its own losers once the winner
    is here, and copy no version it does not need.

    Without a decision (pending, undecidable) a node that holds a version keeps it and copies
    no other; one that holds none copies every version, so nothing anyone received is lost.
    """
    d = decision.disagreement
    mine = {v.segment.name for v in d.versions if node in v.holders}
    if decision.winner is None:
        others = {v.segment.name for v in d.versions} - mine
        return LocalActions(hold_back=frozenset(others if mine else ()))
    winner = decision.winner
    has_winner = winner.name in mine
    losers = frozenset(s.name for s in decision.losers)
    return LocalActions(
        fetch=None if has_winner else winner,
        tombstone=tuple(s for s in decision.losers if s.name in mine),
        hold_back=losers,
    )


def superseded(
    tombstoned: Sequence[Segment],
    local_names: Iterable[str],
    tolerance: timedelta = START_TOLERANCE,
) -> dict[str, Segment]:
    """For ``tombstoned`` full segments (of one hour directory): the visible local full segment
    of the same start and duration but another hash that would replace each, where there is
    one. The shell checks the bytes (the replacement must start with the hidden version's, if
    that is here) before it lets such a tombstone pass the valve uncounted (SPEC §15)."""
    full = [s for s in tombstoned if s.is_full]
    if not full:
        return {}
    first = full[0]
    hour = parse_hour(first.hour)
    names = list(local_names)
    hidden = {hidden_segment_name(n) for n in names if is_tombstone_name(n)}
    visible: dict[float, list[Segment]] = {}
    for name in names:
        if name in hidden or is_tombstone_name(name) or is_temp_name(name):
            continue
        segment = _parse(first.channel, first.quality, hour, name)
        if segment is not None and segment.is_full:
            visible.setdefault(segment.duration, []).append(segment)
    found: dict[str, Segment] = {}
    for s in full:
        for other in visible.get(s.duration, ()):
            if abs(other.start - s.start) <= tolerance and other.hash != s.hash:
                found[s.name] = other
                break
    return found
