"""The editor's image requests, decided without I/O: sizes, bounds, layout, the byte cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streamvault.cutter.plan import Run
from streamvault.errors import BadInput
from streamvault.restreamer.images import (
    ByteCache,
    WaveformRequest,
    frame_time,
    parse_size,
    place_runs,
    waveform_request,
)
from streamvault.store.naming import Segment

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "size"),
    [(None, (1024, 64)), ("1x1", (1, 1)), ("4096x1024", (4096, 1024)), ("800x48", (800, 48))],
)
def test_sizes(text: str | None, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "800", "800x", "x48", "0x10", "10x0", "4097x10", "10x1025",
                                  "-1x5", "8e2x48", "800X48", " 800x48", "123456x1"])  # fmt: skip
def test_bad_sizes(text: str) -> None:
    with pytest.raises(BadInput, match="size"):
        parse_size(text)


def test_waveform_ranges_are_bounded() -> None:
    start = "2026-11-28T04:00:00Z"
    ok = waveform_request({"start": [start], "end": ["2026-11-28T06:00:00Z"]})
    assert ok.seconds == 7200
    with pytest.raises(BadInput, match="at most 2 h"):
        waveform_request({"start": [start], "end": ["2026-11-28T06:00:01Z"]})
    with pytest.raises(BadInput, match="both"):
        waveform_request({"start": [start]})
    with pytest.raises(BadInput, match="given 2 times"):
        frame_time({"timestamp": [start, start]})


def segment(index: int) -> Segment:
    return Segment("c", "q", T0 + timedelta(seconds=2 * index), 2.0, "full", "h" * 43)


def test_runs_land_where_their_time_is() -> None:
    request = WaveformRequest(T0, T0 + timedelta(seconds=100), 1000, 40)
    runs = [
        Run((segment(0),), T0, T0 + timedelta(seconds=20)),
        Run((segment(30),), T0 + timedelta(seconds=60), T0 + timedelta(seconds=60.05)),
    ]
    first, second = place_runs(runs, request)
    assert (first.x, first.width) == (0, 200)
    assert (second.x, second.width) == (600, 1)  # narrower than a pixel: still one column


def test_byte_cache_keeps_within_its_bound_dropping_the_least_recent() -> None:
    cache = ByteCache(10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now a is the most recent
    cache.put("c", b"1234")
    assert cache.get("b") is None and cache.get("a") is not None and cache.size == 8
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.size <= 10
