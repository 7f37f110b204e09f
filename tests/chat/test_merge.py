"""The merge CRDT: associative, commutative, idempotent, over generated archives of nodes
that each saw part of one chat; and it keeps every message exactly once."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamvault.chat.batches import encode_batch
from streamvault.chat.merge import merge_all, merge_messages, merge_pair

NODES = ("a", "b", "c")

# Times are multiples of 1/4 s: binary fractions, so range arithmetic is exact and bytes can be
# compared (the code does the same float arithmetic on real times, where ulps may differ).
quarters = st.integers(0, 240).map(lambda q: q / 4)


@st.composite
def chat(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], list[tuple[str, set[str]]]]:
    """Three nodes' message lists, and (identity, nodes that saw it) per true event."""
    count = draw(st.integers(0, 25))
    lists: list[list[dict[str, Any]]] = [[] for _ in NODES]
    truth = []
    for k in range(count):
        tagged = draw(st.booleans())
        # untagged events with equal content happen far apart, as on Twitch (same user joins)
        true_time = 1000.0 + k * (0.25 if tagged else 300.0)
        content = draw(st.integers(0, 2)) if not tagged else k
        seen = draw(st.sets(st.sampled_from(NODES), min_size=1))
        ident = f"id{k}" if tagged else f"JOIN:user{content}@{k}"
        truth.append((ident, seen))
        for i, node in enumerate(NODES):
            if node not in seen:
                continue
            before, after = (0.0, 0.0) if tagged else (draw(quarters), draw(quarters))
            message = {
                "command": "PRIVMSG" if tagged else "JOIN",
                "params": ["#c", f"text {content}"] if tagged else ["#c"],
                "sender": f"user{content}",
                "user": f"user{content}",
                "host": "h",
                "tags": {"id": f"id{k}", "tmi-sent-ts": str(int(true_time * 1000))}
                if tagged
                else None,
                "receivers": {node: true_time + draw(quarters)},
                "time": true_time - before,
                "time_range": before + after,
            }
            lists[i].append(message)
    return lists, truth


def enc(messages: list[dict[str, Any]]) -> bytes:
    return encode_batch(messages)


@settings(max_examples=100, deadline=None)
@given(chat())
def test_merge_is_a_crdt(case: tuple[list[list[dict[str, Any]]], Any]) -> None:
    (a, b, c), _ = case
    assert enc(merge_messages(a, b)) == enc(merge_messages(b, a))
    assert enc(merge_messages(merge_messages(a, b), c)) == enc(
        merge_messages(a, merge_messages(b, c))
    )
    assert enc(merge_messages(a, a)) == enc(a)
    ab = merge_messages(a, b)
    assert enc(merge_messages(ab, b)) == enc(ab)
    assert enc(merge_all([c, a, b])) == enc(merge_all([a, b, c]))


@settings(max_examples=100, deadline=None)
@given(chat())
def test_every_message_once_with_every_receiver(case: Any) -> None:
    lists, truth = case
    merged = merge_all(lists)
    assert len(merged) == len(truth)
    found = sorted(sorted(m["receivers"]) for m in merged)
    assert found == sorted(sorted(seen) for _, seen in truth)


def _msg(time: float, time_range: float, receivers: dict[str, float], **extra: Any) -> Any:
    return {
        "command": "JOIN",
        "params": ["#c"],
        "tags": None,
        "time": time,
        "time_range": time_range,
        "receivers": receivers,
        **extra,
    }


def test_merged_message_has_the_intersection_and_the_union() -> None:
    merged = merge_pair(_msg(100.0, 20.0, {"a": 5.0}), _msg(110.0, 30.0, {"b": 6.0}))
    assert (merged["time"], merged["time_range"]) == (110.0, 10.0)
    assert merged["receivers"] == {"a": 5.0, "b": 6.0}
    # one range inside the other keeps the inner one's values as they are (an int stays an int)
    inner = merge_pair(_msg(100.0, 20, {"a": 5.0}), _msg(90.0, 45, {"a": 4.0}))
    assert (inner["time"], inner["time_range"], inner["receivers"]) == (100.0, 20, {"a": 4.0})


def test_ranges_that_do_not_overlap_stay_apart() -> None:
    assert len(merge_messages([_msg(100.0, 5.0, {"a": 1.0})], [_msg(106.0, 5.0, {"b": 1.0})])) == 2


def test_same_id_is_one_message_even_when_copies_disagree() -> None:
    left = _msg(100.0, 0, {"a": 1.0}, tags={"id": "x"}, params=["#c", "one"])
    right = _msg(100.0, 0, {"b": 2.0}, tags={"id": "x"}, params=["#c", "two"])
    [one] = merge_messages([left], [right])
    [other] = merge_messages([right], [left])
    assert one == other and one["receivers"] == {"a": 1.0, "b": 2.0}
