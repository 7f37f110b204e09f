from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamvault.errors import BadInput
from streamvault.restreamer.params import (
    bool_param,
    check_implicit,
    cut_ranges,
    cut_type,
    range_params,
)

T = datetime(2026, 11, 28, 4, 5, 6, 789000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2026-11-28T04:05:06.789", "2026-11-28T04:05:06.789Z", "2026-11-28T04:05:06.789+00:00"]
)
def test_times_in_utc_with_or_without_z(text: str) -> None:
    assert range_params({"start": [text]}).start == T


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"start": ["yesterday"]}, "start"),
        ({"start": ["2026-11-28T04:05:06+01:00"]}, "UTC"),
        ({"end": ["2026-13-28T04:05:06"]}, "end"),
        ({"start": ["2026-11-28T04:05:06"], "end": ["2026-11-28T04:05:06"]}, "later"),
        ({"start": ["2026-11-28T04:05:06", "2026-11-28T04:05:07"]}, "once"),
        ({"start": [""]}, "start"),
        ({"start": ["\x00"]}, "start"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(query: dict[str, list[str]], reason: str) -> None:
    with pytest.raises(BadInput, match=reason) as info:
        range_params(query)
    assert "\n" not in str(info.value)


def test_bool_param() -> None:
    assert bool_param({"x": ["true"]}, "x") is True
    assert bool_param({"x": ["False"]}, "x") is False
    assert bool_param({}, "x", default=True) is True
    with pytest.raises(BadInput, match="true or false"):
        bool_param({"x": ["maybe"]}, "x")


def test_cut_ranges_from_start_end_or_several_ranges() -> None:
    one = cut_ranges({"start": ["2026-11-28T04:00:00"], "end": ["2026-11-28T04:00:10"]})
    assert [(a.second, b.second) for a, b in one] == [(0, 10)]
    several = cut_ranges(
        {
            "range": [
                "2026-11-28T04:00:20,2026-11-28T04:00:30",
                "2026-11-28T04:00:00,2026-11-28T04:00:05",
            ]
        }
    )
    assert [(a.second, b.second) for a, b in several] == [(20, 30), (0, 5)]  # order kept


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"start": ["2026-11-28T04:00:00"]},
        {"range": ["2026-11-28T04:00:00"]},
        {"range": ["2026-11-28T04:00:10,2026-11-28T04:00:00"]},
        {"range": ["a,b"]},
        {"range": ["2026-11-28T04:00:00,2026-11-28T04:00:10"], "start": ["2026-11-28T04:00:00"]},
    ],
)
def test_bad_cut_ranges(query: dict[str, list[str]]) -> None:
    with pytest.raises(BadInput):
        cut_ranges(query)


def test_cut_type() -> None:
    assert cut_type({}) == "rough"
    assert cut_type({"type": ["smart"]}) == "smart"
    with pytest.raises(BadInput, match="one of rough, fast"):
        cut_type({"type": ["SMART"]})


def test_implicit_ranges_are_limited_to_12_hours() -> None:
    start = datetime(2026, 11, 28, tzinfo=UTC)
    check_implicit(start, start.replace(hour=12), explicit=False)
    check_implicit(start, start.replace(day=29), explicit=True)
    with pytest.raises(BadInput, match="12 h"):
        check_implicit(start, start.replace(hour=12, second=1), explicit=False)
