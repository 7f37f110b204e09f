"""What a peer may send in answer to a listing or a change-feed poll, and nothing more. Pure.

A peer is not trusted: its JSON bodies are refused past a size (checked before parsing), a
nesting depth (checked before parsing, so 100,000 nested ``[`` cost one scan instead of a
``RecursionError``) and a count of items; what passes is checked for shape. Anything else
raises :class:`BadAnswer`, which marks the peer bad for a while (:mod:`.copy`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import BadAnswer

#: A listing of one hour holds about 1,800 names of some 90 bytes (2 s segments), a list of
#: hours a few thousand short names; these bounds leave a hundredfold room.
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 200_000
#: The deepest answer any route gives is the change feed's: object > list > object > string.
MAX_DEPTH = 4

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


@dataclass(frozen=True, slots=True)
class Change:
    hour: str
    name: str


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """One answer of ``/changes``: the changes after the cursor asked for, and the next cursor.

    ``reset`` means the peer cannot tell what changed since that cursor (it restarted, or the
    cursor is too old); the caller should check the recent hours in full.
    """

    cursor: int
    instance: str
    reset: bool
    changes: tuple[Change, ...]


def nesting_depth(text: str, limit: int) -> int:
    """How deep ``[``/``{`` nest in a JSON text, counting no further than ``limit + 1``."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def parse_json(body: bytes, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a peer's JSON body within the limits above."""
    if len(body) > MAX_BODY_BYTES:
        raise BadAnswer(f"answer of {len(body)} bytes from {where} (at most {MAX_BODY_BYTES})")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadAnswer(f"not UTF-8 from {where}") from err
    if nesting_depth(text, max_depth) > max_depth:
        raise BadAnswer(f"JSON nested deeper than {max_depth} from {where}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise BadAnswer(f"not JSON from {where}") from err


def string_list(data: Any, where: str, max_items: int = MAX_ITEMS) -> list[str]:
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise BadAnswer(f"expected a JSON list of strings from {where}")
    if len(data) > max_items:
        raise BadAnswer(f"a list of {len(data)} names from {where} (at most {max_items})")
    return data


def parse_feed_answer(data: Any, where: str = "", max_items: int = MAX_ITEMS) -> FeedAnswer:
    """Check and convert a ``/changes`` JSON body."""
    try:
        cursor = data["cursor"]
        instance = data["instance"]
        reset = data.get("reset", False)
        items = data["changes"]
        if not isinstance(items, list):
            raise TypeError("changes is not a list")
        if len(items) > max_items:
            raise BadAnswer(f"{len(items)} changes in one answer from {where}")
        changes = tuple(Change(item["hour"], item["name"]) for item in items)
    except (KeyError, TypeError, AttributeError) as err:
        raise BadAnswer(f"not a change feed answer from {where}: {err}") from err
    if (
        not isinstance(cursor, int)
        or isinstance(cursor, bool)
        or not isinstance(instance, str)
        or not isinstance(reset, bool)
        or not all(isinstance(c.hour, str) and isinstance(c.name, str) for c in changes)
    ):
        raise BadAnswer(f"not a change feed answer from {where}")
    return FeedAnswer(cursor, instance, reset, changes)
