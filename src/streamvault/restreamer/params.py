"""Query parameters of the HTTP API, parsed strictly. Pure: no I/O.

Every function raises :class:`~streamvault.errors.BadInput` with a one-line reason, which the
API turns into a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .. import timeutil
from ..cutter.plan import CUT_TYPES, CutType
from ..errors import BadInput, BadTime

#: Times outside these bounds are refused: arithmetic near datetime's limits would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

#: The longest range served when the caller did not give both ``start`` and ``end``.
IMPLICIT_LIMIT = timedelta(hours=12)

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

#: Query input as aiohttp gives it: name -> every value given.
Query = Mapping[str, Sequence[str]]


def single(query: Query, name: str) -> str | None:
    """The one value of ``name``, ``None`` when absent; given twice is an error."""
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadInput(f"parameter {name!r} given {len(values)} times; give it once")
    return values[0]


def parse_time(text: str, name: str) -> datetime:
    try:
        value = timeutil.parse_time(text, utc_only=True)
    except BadTime as err:
        raise BadInput(f"parameter {name!r}: {err}") from None
    if not EARLIEST <= value < LATEST:
        raise BadInput(f"parameter {name!r}: {text!r} is not between 1970 and 9000")
    return value


def time_param(query: Query, name: str) -> datetime | None:
    text = single(query, name)
    return None if text is None else parse_time(text, name)


def bool_param(query: Query, name: str, default: bool = False) -> bool:
    text = single(query, name)
    if text is None:
        return default
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise BadInput(f"parameter {name!r} must be true or false, not {text!r}")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``[start, end)`` as the caller gave it; either end may be open."""

    start: datetime | None
    end: datetime | None

    @property
    def explicit(self) -> bool:
        return self.start is not None and self.end is not None

    def filled(self, now: datetime, span: timedelta) -> tuple[datetime, datetime]:
        """The range with its open ends filled: ``end`` now, ``start`` ``span`` before the end;
        400 when a given ``start`` is not before that end."""
        end = self.end or now
        start = self.start or end - span
        if end <= start:
            raise BadInput("parameter 'start' is in the future: give an 'end' after it")
        return start, end


def range_params(query: Query) -> TimeRange:
    """``start`` and ``end``, each optional; ``end`` must come after ``start``."""
    start = time_param(query, "start")
    end = time_param(query, "end")
    if start is not None and end is not None and end <= start:
        raise BadInput("parameter 'end' must be later than 'start'")
    return TimeRange(start, end)


def _one_range(text: str) -> tuple[datetime, datetime]:
    parts = text.split(",")
    if len(parts) != 2:
        raise BadInput(f"parameter 'range' must be START,END, not {text!r}")
    start, end = parse_time(parts[0], "range"), parse_time(parts[1], "range")
    if end <= start:
        raise BadInput(f"parameter 'range': END must be later than START in {text!r}")
    return start, end


def cut_ranges(query: Query) -> list[tuple[datetime, datetime]]:
    """Either ``start`` and ``end``, or one or more ``range=START,END`` (joined in order)."""
    ranges = [_one_range(text) for text in query.get("range", ())]
    given = range_params(query)
    if ranges:
        if given.start is not None or given.end is not None:
            raise BadInput("give either 'start' and 'end' or 'range', not both")
        return ranges
    if given.start is None or given.end is None:
        raise BadInput("a cut needs 'start' and 'end' (or one or more 'range=START,END')")
    return [(given.start, given.end)]


def cut_type(query: Query) -> CutType:
    text = single(query, "type")
    if text is None:
        return "rough"
    for known in CUT_TYPES:
        if text == known:
            return known
    raise BadInput(f"parameter 'type' must be one of {', '.join(CUT_TYPES)}, not {text!r}")


def check_implicit(start: datetime, end: datetime, explicit: bool) -> None:
    """An implicit range (``start`` or ``end`` not given) may not be longer than 12 hours."""
    if not explicit and end - start > IMPLICIT_LIMIT:
        hours = (end - start).total_seconds() / 3600
        raise BadInput(
            f"the implicit range is {hours:.1f} h, longer than 12 h: give both 'start' and 'end'"
        )
