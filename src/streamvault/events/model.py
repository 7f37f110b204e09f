"""Events (SPEC §12): their fields, states and the rules for changing them. Pure: no I/O.

An event travels as the JSON object the API speaks; :func:`validate_fields` turns what a
client sent into normalised values (times as ``format_iso`` strings, lists as lists) or
raises :class:`~streamvault.errors.BadEvent` with one line naming the field. The store keeps
those values as they are, so what goes in is what comes out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..cutter.plan import CUT_TYPES
from ..errors import BadEvent, BadTime
from ..timeutil import format_iso, parse_time

UNEDITED, EDITED, CLAIMED, DONE, FAILED, MODIFIED = (
    "UNEDITED", "EDITED", "CLAIMED", "DONE", "FAILED", "MODIFIED",
)  # fmt: skip
STATES = (UNEDITED, EDITED, CLAIMED, DONE, FAILED, MODIFIED)
#: The state changes SPEC §12 allows; staying in a state is always allowed.
TRANSITIONS: dict[str, frozenset[str]] = {
    UNEDITED: frozenset({EDITED}),
    EDITED: frozenset({CLAIMED}),
    CLAIMED: frozenset({DONE, FAILED}),
    DONE: frozenset({MODIFIED}),
    FAILED: frozenset({EDITED}),
    MODIFIED: frozenset({CLAIMED}),
}
#: States a cutter may claim.
CLAIMABLE = (EDITED, MODIFIED)

#: ffmpeg ``xfade`` transitions (and ``cut``, a plain join).
# fmt: off
XFADE_TYPES = frozenset((
    "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright", "slideup",
    "slidedown", "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite", "radial",
    "smoothleft", "smoothright", "smoothup", "smoothdown", "circleopen", "circleclose",
    "vertopen", "vertclose", "horzopen", "horzclose", "dissolve", "pixelize", "diagtl",
    "diagtr", "diagbl", "diagbr", "hlslice", "hrslice", "vuslice", "vdslice", "hblur",
    "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev", "zoomin",
))
# fmt: on
CUT = "cut"

MAX_TITLE = 100
MAX_DESCRIPTION = 5000
MAX_TEXT = 20_000
MAX_RANGES = 100
MAX_TAGS = 100
MAX_CHAPTERS = 500

#: Fields the server owns: refused in a create, and in an update unless unchanged.
READ_ONLY = ("id", "version", "created", "updated")


def _text(limit: int, nullable: bool = False) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise BadEvent(f"{name} must be a string")
        if len(value) > limit:
            raise BadEvent(f"{name} is {len(value)} characters long; at most {limit} are allowed")
        if "\0" in value:
            raise BadEvent(f"{name} may not hold a NUL character")
        return value

    return check


def _name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadEvent(f"{name} must be a non-empty string")
    if value.startswith(".") or "/" in value or "\\" in value or "\0" in value or len(value) > 200:
        raise BadEvent(f"{name} is not a valid stream name: {value!r}")
    return value


def _time(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadEvent(f"{name} must be an ISO 8601 time string")
    try:
        return parse_time(value)
    except BadTime as err:
        raise BadEvent(f"{name}: {err}") from None


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadEvent(f"{name} must be a number")
    return float(value)


def _transition(name: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"type", "duration"}:
        raise BadEvent(f"{name} must be null or an object with type and duration")
    kind = value.get("type")
    if kind == CUT:
        return None
    if kind not in XFADE_TYPES:
        raise BadEvent(f"{name}.type must be 'cut' or an ffmpeg xfade transition, not {kind!r}")
    duration = _number(f"{name}.duration", value.get("duration"))
    if not 0 < duration <= 60:
        raise BadEvent(f"{name}.duration must be more than 0 and at most 60 seconds")
    return {"type": kind, "duration": duration}


def _ranges(name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_RANGES:
        raise BadEvent(f"{name} must be a list of at most {MAX_RANGES} ranges")
    ranges = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, dict) or set(item) - {"start", "end", "transition"}:
            raise BadEvent(f"{where} must be an object with start, end and transition")
        start, end = (
            _time(f"{where}.start", item.get("start")),
            _time(f"{where}.end", item.get("end")),
        )
        if end <= start:
            raise BadEvent(f"{where}: end {format_iso(end)} is not after start {format_iso(start)}")
        transition = _transition(f"{where}.transition", item.get("transition"))
        if transition is not None:
            if index == len(value) - 1:
                raise BadEvent(f"{where}: the last range cannot have a transition")
            if transition["duration"] >= (end - start).total_seconds():
                raise BadEvent(f"{where}: the transition is longer than the range")
        ranges.append(
            {"start": format_iso(start), "end": format_iso(end), "transition": transition}
        )
    return ranges


def _tags(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise BadEvent(f"{name} must be a list of at most {MAX_TAGS} strings")
    return [_text(200)(f"{name}[{index}]", tag) for index, tag in enumerate(value)]


def _chapters(name: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > MAX_CHAPTERS:
        raise BadEvent(f"{name} must be a list of at most {MAX_CHAPTERS} chapters")
    chapters = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, dict) or set(item) != {"time", "title"}:
            raise BadEvent(f"{where} must be an object with time and title")
        time = format_iso(_time(f"{where}.time", item["time"]))
        chapters.append({"time": time, "title": _text(MAX_TITLE)(f"{where}.title", item["title"])})
    return chapters


def _thumbnail(name: str, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"time"}:
        raise BadEvent(f"{name} must be null or an object with a time")
    return {"time": format_iso(_time(f"{name}.time", value["time"]))}


def _cut_type(name: str, value: Any) -> str:
    if value not in CUT_TYPES:
        raise BadEvent(f"{name} must be one of {', '.join(CUT_TYPES)}")
    return str(value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadEvent(f"{name} must be true or false")
    return value


def _state(name: str, value: Any) -> str:
    if value not in STATES:
        raise BadEvent(f"{name} must be one of {', '.join(STATES)}")
    return str(value)


def _output(name: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"location", "size", "sha256"}:
        raise BadEvent(f"{name} must be null or an object with location, size and sha256")
    location = _text(2000)(f"{name}.location", value["location"])
    size = value["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BadEvent(f"{name}.size must be a whole number of bytes")
    digest = value["sha256"]
    if not isinstance(digest, str) or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        raise BadEvent(f"{name}.sha256 must be 64 lowercase hex digits")
    return {"location": location, "size": size, "sha256": digest}


def _progress(name: str, value: Any) -> float | None:
    if value is None:
        return None
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise BadEvent(f"{name} must be between 0 and 1")
    return number


#: Every field a client may set, with its check and its value in a new event.
FIELDS: dict[str, tuple[Callable[[str, Any], Any], Any]] = {
    "channel": (_name, None),
    "quality": (_name, "source"),
    "ranges": (_ranges, []),
    "title": (_text(MAX_TITLE), ""),
    "description": (_text(MAX_DESCRIPTION), ""),
    "tags": (_tags, []),
    "category": (_text(200), ""),
    "notes": (_text(MAX_TEXT), ""),
    "chapters": (_chapters, []),
    "thumbnail": (_thumbnail, None),
    "cut_type": (_cut_type, "fast"),
    "allow_holes": (_bool, False),
    "state": (_state, UNEDITED),
    "editor": (_text(200, nullable=True), None),
    "error": (_text(MAX_TEXT, nullable=True), None),
    "output": (_output, None),
    "progress": (_progress, None),
}
#: Fields that change what a cut renders: editing them on a DONE event needs MODIFIED.
CUT_FIELDS = frozenset({"channel", "quality", "ranges", "cut_type", "allow_holes"})


def validate_fields(data: Any, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The normalised fields of a create (``current`` None) or an update of ``current``.

    Read-only fields are refused in a create; in an update they may be sent back unchanged
    (an editor that round-trips the whole event), and are then left out of the result.
    """
    if not isinstance(data, dict):
        raise BadEvent("the body must be a JSON object of event fields")
    fields: dict[str, Any] = {}
    for name, value in data.items():
        if name in READ_ONLY:
            if current is None or current.get(name) != value:
                raise BadEvent(f"{name} is set by the server and cannot be changed")
            continue
        if name not in FIELDS:
            raise BadEvent(f"unknown field {name!r}")
        fields[name] = FIELDS[name][0](name, value)
    return fields


def new_event(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new event's fields: ``fields`` over the defaults; ``channel`` is required."""
    if fields.get("channel") is None:
        raise BadEvent("channel is required")
    event = {name: default for name, (_check, default) in FIELDS.items()}
    event.update(fields)
    check_complete(event)
    return event


def check_transition(old: str, new: str) -> None:
    if new != old and new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old]))
        raise BadEvent(f"state cannot change from {old} to {new} (from {old}: {allowed})")


def check_complete(event: Mapping[str, Any]) -> None:
    """States past UNEDITED need something to cut."""
    if event["state"] != UNEDITED and not event["ranges"]:
        raise BadEvent(f"an event in state {event['state']} needs at least one range")


def apply_update(current: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that really change when ``fields`` is applied to ``current``; checked."""
    changes = {name: value for name, value in fields.items() if current.get(name) != value}
    state = str(current["state"])
    if "state" in changes:
        check_transition(state, changes["state"])
    elif state == CLAIMED and CUT_FIELDS & set(changes):
        raise BadEvent("the event is being cut; change its cut fields after it is DONE or FAILED")
    elif state == DONE and CUT_FIELDS & set(changes):
        raise BadEvent("the event is DONE: set state to MODIFIED to change what is cut")
    check_complete({**current, **changes})
    return changes


def event_bounds(ranges: list[dict[str, Any]]) -> tuple[datetime | None, datetime | None]:
    """The earliest start and latest end of an event's ranges (for time filters)."""
    if not ranges:
        return None, None
    return min(parse_time(r["start"]) for r in ranges), max(parse_time(r["end"]) for r in ranges)


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for a history entry."""
    return {name: {"old": old.get(name), "new": value} for name, value in new.items()}
