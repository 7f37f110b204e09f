"""The simulator's fault model and TOML scenarios. Pure: no I/O.

A :class:`Fault` applies to an optional channel, quality and node, and to a sequence, a
``[from_sequence, to_sequence]`` range (inclusive) or a time window ``[from_seconds,
to_seconds)`` in stream seconds (seconds since the channel's origin). Segment faults are matched
against the segment's sequence and start; playlist faults (``offline``, ``ended``,
``missing_quality``, ``playlist_status``, ``endlist``, ``prefetch``, ``mangle``, ``trigger``)
against the live edge at request time. ``ended`` is a stream that has ended while usher still
answers: nothing new is published, and the media playlist is the last window, frozen, with
``#EXT-X-ENDLIST``. ``mangle`` serves a hostile media playlist (``garbage``: the word
``hello``; NaN, infinite or zero ``EXTINF``s; program date times in year 9999 or year 1).
``trigger`` adds a ``twitch-trigger`` date range over the content (not an ad).
``truncate`` answers at once with a cleanly ended, shorter body (the first
``truncate_fraction`` of the packets, with a correct shorter ``Content-Length``): a "full"
file that is everyone else's cut short, as nodes with connection trouble get (SPEC §15).
A fault with ``node=None`` applies on every node; one with ``node="b"`` only under ``/node/b``.

Scenario file::

    [[fault]]
    kind = "segment_status"
    channel = "alpha"
    sequence = 12
    status = 404
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError

SEGMENT_KINDS = frozenset(
    {
        "ad_break",
        "segment_status",
        "stall_then_truncate",
        "truncate",
        "reset_mid_body",
        "empty_body",
        "skew",
    }
)
PLAYLIST_KINDS = frozenset(
    {
        "offline",
        "ended",
        "missing_quality",
        "playlist_status",
        "endlist",
        "prefetch",
        "mangle",
        "trigger",
    }
)
KINDS = SEGMENT_KINDS | PLAYLIST_KINDS
MARKINGS = ("daterange", "amazon", "scte35")
#: ``mangle``: what a hostile origin does to the media playlist
MANGLES = ("garbage", "nan_duration", "inf_duration", "zero_duration", "year_9999", "year_1")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    channel: str | None = None
    quality: str | None = None
    node: str | None = None
    sequence: int | None = None
    from_sequence: int | None = None
    to_sequence: int | None = None
    from_seconds: float | None = None
    to_seconds: float | None = None
    status: int | None = None
    marking: str = "daterange"
    stall_seconds: float = 60.0
    skew_seconds: float = 5.0
    truncate_fraction: float = 0.5
    #: ad_break: the EXTINF of the break's last segment (Twitch's can be short, e.g. 0.168)
    last_ad_duration: float | None = None
    #: mangle: one of MANGLES
    mangle: str = "garbage"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.kind == "ad_break" and self.marking not in MARKINGS:
            raise ConfigError(f"ad_break marking must be one of {MARKINGS}")
        needs_status = self.kind in ("segment_status", "playlist_status")
        if needs_status and (self.status is None or not 400 <= self.status <= 599):
            raise ConfigError(f"{self.kind} needs a status between 400 and 599")
        if self.kind == "mangle" and self.mangle not in MANGLES:
            raise ConfigError(f"mangle must be one of {MANGLES}")
        if self.last_ad_duration is not None and self.last_ad_duration <= 0:
            raise ConfigError("last_ad_duration must be positive")
        if not 0.0 <= self.truncate_fraction < 1.0:
            raise ConfigError("truncate_fraction must be in [0, 1)")

    def selects(self, channel: str, quality: str | None, node: str | None) -> bool:
        """Whether this fault targets the channel, quality (None: any) and node."""
        if self.channel is not None and self.channel.lower() != channel.lower():
            return False
        if self.quality is not None and quality is not None and self.quality != quality:
            return False
        return self.node is None or self.node == node

    def covers(self, sequence: int, stream_seconds: float) -> bool:
        """Whether the sequence (starting at ``stream_seconds``) is inside this fault's span."""
        if self.sequence is not None and sequence != self.sequence:
            return False
        if self.from_sequence is not None and sequence < self.from_sequence:
            return False
        if self.to_sequence is not None and sequence > self.to_sequence:
            return False
        if self.from_seconds is not None and stream_seconds < self.from_seconds:
            return False
        return self.to_seconds is None or stream_seconds < self.to_seconds

    def to_dict(self) -> dict[str, Any]:
        defaults = Fault(kind=self.kind, status=self.status)
        if self.status is not None:
            return {"status": self.status} | self._changed(defaults)
        return self._changed(defaults)

    def _changed(self, defaults: Fault) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name == "kind" or getattr(self, f.name) != getattr(defaults, f.name)
        }


_FIELD_NAMES = frozenset(f.name for f in fields(Fault))


def fault_from_dict(data: Mapping[str, Any]) -> Fault:
    """A fault from JSON/TOML values; unknown keys and bad values raise ConfigError."""
    if not isinstance(data, Mapping):
        raise ConfigError("a fault must be an object")
    unknown = set(data) - _FIELD_NAMES
    if unknown:
        raise ConfigError(f"unknown fault fields: {sorted(unknown)}")
    if "kind" not in data:
        raise ConfigError("a fault needs a kind")
    try:
        return Fault(**data)
    except TypeError as err:
        raise ConfigError(str(err)) from err


def faults_from_json(data: Any) -> list[Fault]:
    """One fault object or a list of them."""
    items = data if isinstance(data, list) else [data]
    return [fault_from_dict(item) for item in items]


def parse_scenario(text: str) -> list[Fault]:
    """The ``[[fault]]`` tables of a TOML scenario."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"scenario is not valid TOML: {err}") from err
    unknown = set(document) - {"fault"}
    if unknown:
        raise ConfigError(f"unknown scenario sections: {sorted(unknown)}")
    tables = document.get("fault", [])
    if not isinstance(tables, list):
        raise ConfigError("use [[fault]] tables")
    return [fault_from_dict(table) for table in tables]


class FaultSet:
    """The active faults, in the order they were added."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults: list[Fault] = list(faults)

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def remove(self, fault: Fault) -> None:
        """Remove one fault equal to ``fault``; ValueError when there is none."""
        self._faults.remove(fault)

    def clear(self) -> None:
        self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def segment_fault(
        self, kind: str, channel: str, quality: str | None, node: str | None,
        sequence: int, stream_seconds: float,
    ) -> Fault | None:  # fmt: skip
        """The first fault of ``kind`` that applies to this segment, if any."""
        for fault in self._faults:
            if (
                fault.kind == kind
                and fault.selects(channel, quality, node)
                and fault.covers(sequence, stream_seconds)
            ):
                return fault
        return None
