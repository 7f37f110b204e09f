"""The merge of chat archives: a CRDT (SPEC §14). Pure.

``merge_messages(a, b)`` is associative, commutative and idempotent (on the encoded batch:
the order of the returned list carries no meaning), so nodes can merge each other's batches
in any order, any number of times, and end up with the same bytes:

- messages with the same ``tags.id`` are one message;
- others are one when their time ranges overlap and every field but ``receivers``, ``time``
  and ``time_range`` is equal; each message of one side pairs with at most one of the other;
- the merged message has the intersection of the time ranges and the union of the
  receivers. A node that received one message twice (duplicate delivery, two connections
  during a ``RECONNECT``) keeps its first ``received_at``.

Where copies with one id disagree in their other fields (a wubloader node refuses such a
merge), the copy whose fields encode smaller is kept, so the choice is still order-free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .messages import Message, message_id

_VOLATILE = ("receivers", "time", "time_range")
_encoder = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def content_key(message: Message) -> str:
    """Every field but receivers, time and time_range, encoded: equal keys, equal content."""
    return _encoder.encode({k: v for k, v in message.items() if k not in _VOLATILE})


def _receivers(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for node, received_at in b.items():
        mine = merged.get(node)
        if mine is None or received_at < mine:
            merged[node] = received_at
    return merged


def _intersection(a: Message, b: Message) -> tuple[Any, Any]:
    """(time, time_range) of the overlap. When one range holds the other, the inner one's
    values are kept as they are (no float arithmetic, an int range stays an int)."""
    a_start, a_end = a["time"], a["time"] + a["time_range"]
    b_start, b_end = b["time"], b["time"] + b["time_range"]
    if b_start <= a_start and a_end <= b_end:
        return a["time"], a["time_range"]
    if a_start <= b_start and b_end <= a_end:
        return b["time"], b["time_range"]
    start = max(a_start, b_start)
    return start, min(a_end, b_end) - start


def overlaps(a: Message, b: Message) -> bool:
    start: float = max(a["time"], b["time"])
    end: float = min(a["time"] + a["time_range"], b["time"] + b["time_range"])
    return start <= end


def merge_pair(a: Message, b: Message) -> Message:
    """One message from two copies of it."""
    if a is b:
        return a
    base = a
    if a.keys() != b.keys() or any(a[k] != b[k] for k in a if k not in _VOLATILE):
        base = min(a, b, key=content_key)
    time, time_range = _intersection(a, b)
    merged = dict(base)
    merged["time"], merged["time_range"] = time, time_range
    merged["receivers"] = _receivers(a.get("receivers") or {}, b.get("receivers") or {})
    return merged


def _by_id(messages: Iterable[Message], into: dict[str, Message]) -> list[Message]:
    """File id'd messages into ``into`` (merging copies); return the ones without an id."""
    untimed = []
    for message in messages:
        key = message_id(message)
        if key is None:
            untimed.append(message)
        else:
            known = into.get(key)
            into[key] = message if known is None else merge_pair(known, message)
    return untimed


def _grouped(messages: list[Message]) -> dict[str, list[Message]]:
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(content_key(message), []).append(message)
    for group in groups.values():
        group.sort(key=lambda m: (m["time"], m["time"] + m["time_range"]))
    return groups


def _pair_off(left: list[Message], right: list[Message]) -> list[Message]:
    """Pair each message of ``left`` (in time order) with the first unpaired overlapping one
    of ``right``; pass the unpaired through."""
    result = []
    free = list(right)
    for message in left:
        for i, other in enumerate(free):
            if overlaps(message, other):
                result.append(merge_pair(message, other))
                del free[i]
                break
        else:
            result.append(message)
    result.extend(free)
    return result


def merge_messages(left: Iterable[Message], right: Iterable[Message]) -> list[Message]:
    by_id: dict[str, Message] = {}
    left_groups = _grouped(_by_id(left, by_id))
    right_groups = _grouped(_by_id(right, by_id))
    result = list(by_id.values())
    for key in left_groups.keys() | right_groups.keys():
        result.extend(_pair_off(left_groups.get(key, []), right_groups.get(key, [])))
    return result


def merge_all(lists: Iterable[Iterable[Message]]) -> list[Message]:
    """Fold any number of message lists (batch files, connections) into one."""
    merged: list[Message] = []
    for messages in lists:
        merged = merge_messages(merged, messages)
    return merged
