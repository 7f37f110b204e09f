"""``/coverage/CHANNEL/QUALITY.json``: holes lie between the stream's first and newest segment
(SPEC §9); the time around them is no data."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient

from streamvault.timeutil import format_iso

from .media import T0, start_of


async def coverage(client: TestClient, channel: str, start: datetime, end: datetime) -> dict:  # type: ignore[type-arg]
    query = f"start={format_iso(start)}&end={format_iso(end)}"
    response = await client.get(f"/coverage/{channel}/source.json?{query}")
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


async def test_time_before_the_stream_started_and_after_its_newest_segment_is_no_hole(
    client: TestClient,
) -> None:
    # the stream runs 40 s from T0; the window starts 10 minutes earlier and ends 10 later
    around = await coverage(client, "test", T0 - timedelta(minutes=10), T0 + timedelta(minutes=10))
    assert (around["hole_count"], around["hole_duration"]) == (0, 0)
    # the default window (the hour before now, a day after the stream) holds no hole either
    response = await client.get("/coverage/test/source.json")
    assert (await response.json())["hole_count"] == 0


async def test_holes_inside_the_stream_still_count(client: TestClient) -> None:
    # holes/source lacks segments 10 and 11: a 4 s hole, whatever the window around it
    wide = await coverage(client, "holes", T0 - timedelta(minutes=10), T0 + timedelta(minutes=10))
    assert (wide["hole_count"], wide["hole_duration"]) == (1, 4.0)
    # a window starting inside the missing part: the stream had data before it, so it counts
    inside = await coverage(client, "holes", start_of(10.5), start_of(14))
    assert (inside["hole_count"], inside["hole_duration"]) == (1, 3.0)


async def test_a_range_of_millennia_is_answered_from_the_hours_that_exist(
    client: TestClient,
) -> None:
    """Hash-disagreement records are looked up per existing hour: a client asking from year
    1970 to 8999 once kept a thread opening 61 million missing files (and the test hung)."""
    response = await client.get(
        "/coverage/test/source.json?start=1970-01-01T00:00:00&end=8999-12-31T00:00:00"
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["hash_disagreements"] == []
