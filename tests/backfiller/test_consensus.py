"""Hash consensus, the pure core (SPEC §15): tables of cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.backfiller.consensus import (
    Evidence,
    decide,
    find_disagreements,
    local_actions,
    needs_bytes,
)
from streamvault.backfiller.plan import plan_hour
from streamvault.store.naming import format_name, hash_bytes, tombstone_name

HOUR = "2026-01-01T10"
T0 = datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
WHOLE = b"W" * 1000
SHORT = WHOLE[:400]  # the truncated copy: a byte prefix
OTHER = b"X" * 1000  # not a prefix, same length as WHOLE
OTHER_SHORT = b"Y" * 400  # not a prefix


def name(data: bytes, start: datetime = T0, duration: float = 2.0, type: str = "full") -> str:
    return format_name(start, duration, type, hash_bytes(data))


def h(data: bytes) -> str:
    return hash_bytes(data)


def evidence(*versions: bytes) -> Evidence:
    """What the shell would measure about these versions' bytes."""
    prefixes = frozenset(
        (h(a), h(b)) for a in versions for b in versions if len(a) < len(b) and b.startswith(a)
    )
    return Evidence({h(v): len(v) for v in versions}, prefixes)


def found(listings: dict[str, list[str]]) -> list:  # type: ignore[type-arg]
    return find_disagreements("ch", "source", HOUR, listings)


# --- finding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listings", "count"),
    [
        ({"a": [name(WHOLE)], "b": [name(WHOLE)]}, 0),  # agreement
        ({"a": [name(WHOLE)], "b": [name(SHORT)]}, 1),
        ({"a": [name(WHOLE)], "b": [name(SHORT, duration=2.002)]}, 0),  # another duration
        ({"a": [name(WHOLE)], "b": [name(SHORT, start=T0 + timedelta(seconds=2))]}, 0),
        ({"a": [name(WHOLE)], "b": [name(SHORT, start=T0 + timedelta(microseconds=900))]}, 1),
        ({"a": [name(WHOLE)], "b": [name(SHORT, type="suspect")]}, 0),  # only full counts
        ({"a": [name(WHOLE)], "b": [name(SHORT, type="partial")]}, 0),
        # a tombstoned version counts nowhere, whichever node holds the tombstone
        ({"a": [name(WHOLE)], "b": [name(SHORT)], "c": [tombstone_name(name(SHORT))]}, 0),
        ({"a": [name(WHOLE)], "b": [name(SHORT), tombstone_name(name(SHORT))]}, 0),
        # the canonical tombstone form (X.tombstone) is recognised too
        ({"a": [name(WHOLE)], "b": [name(SHORT)], "c": [name(SHORT)[:-3] + ".tombstone"]}, 0),
        ({"a": [name(WHOLE)], "b": ["not-a-name.ts", name(WHOLE)]}, 0),
        ({"a": [name(WHOLE)], "b": [name(SHORT)], "c": [name(OTHER)]}, 1),  # three versions
    ],
)
def test_finding_disagreements(listings: dict[str, list[str]], count: int) -> None:
    assert len(found(listings)) == count


def test_a_disagreement_names_its_versions_and_holders() -> None:
    [d] = found({"a": [name(WHOLE)], "b": [name(SHORT)], "c": [name(WHOLE)]})
    assert d.start == T0 and d.duration == 2.0
    holders = {v.hash: v.holders for v in d.versions}
    assert holders == {h(WHOLE): {"a", "c"}, h(SHORT): {"b"}}


def test_a_bad_hour_name_finds_nothing() -> None:
    assert find_disagreements("ch", "source", "yesterday", {"a": [name(WHOLE)]}) == []


# --- deciding --------------------------------------------------------------------------------

A, B, C = "a", "b", "c"


@pytest.mark.parametrize(
    ("holdings", "proof", "outcome", "winner"),
    [
        # majority of the nodes that hold one, whatever the bytes
        ({A: [WHOLE], B: [SHORT], C: [WHOLE]}, None, "majority", WHOLE),
        ({A: [SHORT], B: [SHORT], C: [WHOLE]}, None, "majority", SHORT),
        ({A: [WHOLE], B: [OTHER], C: [OTHER]}, None, "majority", OTHER),
        # a node holding both votes for both
        ({A: [WHOLE, SHORT], B: [WHOLE]}, None, "majority", WHOLE),
        # ... but a majority whose version the bytes show cut short does not win: copies of
        # a short version (landed before a node's own download) are votes too
        ({A: [SHORT], B: [SHORT, WHOLE], C: [SHORT]}, (SHORT, WHOLE), "prefix", WHOLE),
        ({A: [SHORT], B: [SHORT, WHOLE]}, (SHORT, WHOLE), "prefix", WHOLE),
        ({A: [SHORT], B: [SHORT, OTHER]}, (SHORT, OTHER), "majority", SHORT),  # not a prefix
        # a tie: the longer file, when the shorter is its prefix
        ({A: [WHOLE], B: [SHORT]}, (WHOLE, SHORT), "prefix", WHOLE),
        ({A: [WHOLE, SHORT], B: [WHOLE, SHORT]}, (WHOLE, SHORT), "prefix", WHOLE),
        # a tie without a prefix: never guessed
        ({A: [WHOLE], B: [OTHER_SHORT]}, (WHOLE, OTHER_SHORT), "undecidable", None),
        ({A: [WHOLE], B: [OTHER]}, (WHOLE, OTHER), "undecidable", None),  # same length
        # three-way tie: every other version must be a prefix of the longest
        ({A: [WHOLE], B: [SHORT], C: [WHOLE[:700]]}, (WHOLE, SHORT, WHOLE[:700]), "prefix", WHOLE),
        ({A: [WHOLE], B: [SHORT], C: [OTHER_SHORT]}, (WHOLE, SHORT, OTHER_SHORT), "undecidable",
         None),
        # a tie whose bytes were not compared yet waits
        ({A: [WHOLE], B: [SHORT]}, None, "pending", None),
        ({A: [WHOLE], B: [SHORT]}, (WHOLE,), "pending", None),
    ],
)  # fmt: skip
def test_deciding(
    holdings: dict[str, list[bytes]],
    proof: tuple[bytes, ...] | None,
    outcome: str,
    winner: bytes | None,
) -> None:
    [d] = found({node: [name(v) for v in held] for node, held in holdings.items()})
    decision = decide(d, evidence(*proof) if proof else None, complete=True)
    assert decision.outcome == outcome
    assert (decision.winner.hash if decision.winner else None) == (h(winner) if winner else None)
    assert decision.reason


def test_nothing_is_decided_on_an_incomplete_view() -> None:
    [d] = found({A: [name(WHOLE)], B: [name(SHORT)], C: [name(WHOLE)]})
    decision = decide(d, None, complete=False)
    assert (decision.outcome, decision.winner, decision.losers) == ("pending", None, ())


def test_only_a_tie_needs_bytes() -> None:
    [majority] = found({A: [name(WHOLE)], B: [name(SHORT)], C: [name(WHOLE)]})
    assert needs_bytes(majority) == ()
    [tie] = found({A: [name(WHOLE)], B: [name(SHORT)]})
    assert {s.hash for s in needs_bytes(tie)} == {h(WHOLE), h(SHORT)}


# --- acting ----------------------------------------------------------------------------------


def test_the_loser_copies_the_winner_and_hides_its_own_version() -> None:
    [d] = found({A: [name(WHOLE)], B: [name(SHORT)], C: [name(WHOLE)]})
    decision = decide(d, None, complete=True)
    actions = local_actions(decision, B)
    assert actions.fetch is not None and actions.fetch.hash == h(WHOLE)
    assert [s.hash for s in actions.tombstone] == [h(SHORT)]
    assert actions.hold_back == {name(SHORT)}
    winner_side = local_actions(decision, A)
    assert (winner_side.fetch, winner_side.tombstone) == (None, ())
    assert winner_side.hold_back == {name(SHORT)}  # never copies the loser


def test_undecided_each_side_keeps_its_own_and_a_node_without_any_copies_all() -> None:
    [d] = found({A: [name(WHOLE)], B: [name(OTHER)]})
    decision = decide(d, evidence(WHOLE, OTHER), complete=True)
    assert decision.outcome == "undecidable"
    a = local_actions(decision, A)
    assert (a.fetch, a.tombstone, a.hold_back) == (None, (), {name(OTHER)})
    c = local_actions(decision, C)  # holds none: copies both, nothing is lost
    assert (c.fetch, c.tombstone, c.hold_back) == (None, (), frozenset())


def test_plan_hour_leaves_a_disputed_version_to_consensus() -> None:
    now = T0 + timedelta(hours=1)
    plan = plan_hour("ch", "source", HOUR, [name(SHORT)], [name(WHOLE)], now)
    assert plan.fetch == ()
    assert [s.name for s in plan.disputed] == [name(WHOLE)]
    # a hidden local version disputes nothing; a partial one neither
    hidden = [name(SHORT), tombstone_name(name(SHORT))]
    assert [s.name for s in plan_hour("ch", "source", HOUR, hidden, [name(WHOLE)], now).fetch] == [
        name(WHOLE)
    ]
    partial = [name(SHORT, type="partial")]
    assert len(plan_hour("ch", "source", HOUR, partial, [name(WHOLE)], now).fetch) == 1


# --- properties ------------------------------------------------------------------------------

VERSIONS = [WHOLE, SHORT, WHOLE[:700], OTHER, OTHER_SHORT]
holdings_strategy = st.dictionaries(
    st.sampled_from(["self", "n1", "n2", "n3", "n4"]),
    st.sets(st.sampled_from(range(len(VERSIONS))), min_size=1, max_size=3),
    min_size=2,
    max_size=5,
)


@given(holdings_strategy, st.randoms(use_true_random=False), st.booleans())
def test_decisions_do_not_depend_on_the_order_of_peers(
    holdings: dict[str, set[int]], rng: object, complete: bool
) -> None:
    listings = {node: [name(VERSIONS[i]) for i in held] for node, held in holdings.items()}
    shuffled_nodes = list(listings)
    rng.shuffle(shuffled_nodes)  # type: ignore[attr-defined]
    shuffled = {node: list(reversed(listings[node])) for node in shuffled_nodes}
    proof = evidence(*{VERSIONS[i] for held in holdings.values() for i in held})
    one = [decide(d, proof, complete) for d in found(listings)]
    other = [decide(d, proof, complete) for d in found(shuffled)]
    assert [(x.outcome, x.winner) for x in one] == [(x.outcome, x.winner) for x in other]


@given(holdings_strategy, st.booleans(), st.booleans())
def test_a_node_never_hides_its_only_copy_without_the_winner(
    holdings: dict[str, set[int]], with_proof: bool, complete: bool
) -> None:
    listings = {node: [name(VERSIONS[i]) for i in held] for node, held in holdings.items()}
    proof = evidence(*{VERSIONS[i] for held in holdings.values() for i in held})
    for d in found(listings):
        decision = decide(d, proof if with_proof else None, complete)
        if decision.outcome in ("pending", "undecidable"):
            assert decision.winner is None and decision.losers == ()
        for node in listings:
            actions = local_actions(decision, node)
            if not actions.tombstone:
                continue
            # something to hide: there is a winner, and this node holds it or fetches it
            assert decision.winner is not None
            assert decision.winner.name not in {s.name for s in actions.tombstone}
            held = set(listings[node])
            assert decision.winner.name in held or actions.fetch == decision.winner
            # and the winner is never held back
            assert decision.winner.name not in actions.hold_back
            # with the bytes known, the winner is never the cut-short version of a loser (without
            # them, the shell refuses such a tombstone when it holds both: test_consensus_cluster)
            if not with_proof:
                continue
            winner_bytes = next(v for v in VERSIONS if h(v) == decision.winner.hash)
            for loser in decision.losers:
                loser_bytes = next(v for v in VERSIONS if h(v) == loser.hash)
                assert not (len(winner_bytes) < len(loser_bytes)
                            and loser_bytes.startswith(winner_bytes))  # fmt: skip
            # a majority winner is held by the most nodes; a prefix winner is the longest
            if decision.outcome == "prefix":
                assert proof.sizes[decision.winner.hash] >= max(
                    proof.sizes[v.hash] for v in d.tied()
                )
