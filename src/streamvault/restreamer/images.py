"""The editor's images, decided without I/O: parameters, bounds, pixel layout, a byte cache.

``/frame/CHANNEL/QUALITY.png?timestamp`` and ``/waveform/CHANNEL/QUALITY.png?start&end&size``
(SPEC §5) are computed by ffmpeg in :mod:`.stills`; what is asked for, whether it is allowed,
where each run of video lands on the waveform and what is remembered is decided here.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..cutter.plan import Run
from ..errors import BadInput
from .params import Query, parse_time, range_params, single

#: The longest range a waveform is drawn for: its audio is decoded in full.
MAX_WAVEFORM_SPAN = timedelta(hours=2)
MAX_WIDTH = 4096
MAX_HEIGHT = 1024
DEFAULT_SIZE = (1024, 64)
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def frame_time(query: Query) -> datetime:
    """The one ``timestamp`` parameter (an instant, UTC ISO 8601)."""
    text = single(query, "timestamp")
    if text is None:
        raise BadInput("parameter 'timestamp' is required: the instant of the frame")
    return parse_time(text, "timestamp")


def parse_size(text: str | None) -> tuple[int, int]:
    """``WxH`` within ``MAX_WIDTH`` x ``MAX_HEIGHT``; absent: :data:`DEFAULT_SIZE`."""
    if text is None:
        return DEFAULT_SIZE
    match = _SIZE.match(text)
    if match is None:
        raise BadInput(f"parameter 'size' must be WIDTHxHEIGHT, e.g. 1024x64, not {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= MAX_WIDTH and 1 <= height <= MAX_HEIGHT):
        raise BadInput(
            f"parameter 'size': {text!r} is outside 1x1 to {MAX_WIDTH}x{MAX_HEIGHT} pixels"
        )
    return width, height


@dataclass(frozen=True, slots=True)
class WaveformRequest:
    start: datetime
    end: datetime
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def waveform_request(query: Query) -> WaveformRequest:
    given = range_params(query)
    if given.start is None or given.end is None:
        raise BadInput("a waveform needs both 'start' and 'end'")
    if given.end - given.start > MAX_WAVEFORM_SPAN:
        hours = MAX_WAVEFORM_SPAN.total_seconds() / 3600
        raise BadInput(f"a waveform covers at most {hours:g} h: narrow 'start' and 'end'")
    width, height = parse_size(single(query, "size"))
    return WaveformRequest(given.start, given.end, width, height)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one run of contiguous video is drawn: columns ``[x, x + width)``."""

    run: Run
    x: int
    width: int


def place_runs(runs: Sequence[Run], request: WaveformRequest) -> list[Placement]:
    """Each run's columns on the image; time maps linearly onto the width."""
    scale = request.width / request.seconds
    placements = []
    for run in runs:
        left = (run.start - request.start).total_seconds() * scale
        right = (run.end - request.start).total_seconds() * scale
        x = max(0, min(request.width - 1, math.floor(left)))
        width = max(1, min(request.width - x, math.ceil(right) - x))
        placements.append(Placement(run, x, width))
    return placements


class ByteCache:
    """Least recently used values, bounded by the sum of their sizes in bytes.

    Keys name everything the value depends on (the segment files included), so an entry never
    goes stale: a backfilled segment makes a new key and the old entry ages out.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._items[key] = value
        self.size += len(value)
        while self.size > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
