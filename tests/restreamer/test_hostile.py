"""Hostile and absurd requests get a 4xx (or a correct 200) and never reach the 500 handler."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from .rawhttp import raw_request

WIDE = "start=1970-01-01T00:00&end=8999-12-31T23:59"


def internal_errors() -> float:
    return REGISTRY.get_sample_value("streamvault_restreamer_internal_errors_total") or 0.0


@pytest.mark.parametrize(
    ("target", "statuses"),
    [
        (f"/playlist/test/source.m3u8?{WIDE}", {200}),  # explicit: any length is served
        (f"/playlist/test.m3u8?{WIDE}", {200}),
        (f"/coverage/test/source.json?{WIDE}", {200}),
        (f"/cut/test/source.ts?{WIDE}&allow_holes=true", {200}),
        (f"/cut/test/source.ts?{WIDE}", {406}),
        ("/coverage/test/source.json?end=1970-01-01T00:00", {200}),
        ("/coverage/test/source.json?start=8999-01-01T00:00", {400}),
        ("/playlist/test/source.m3u8?start=0001-01-01T00:00&end=0001-01-01T01:00", {400}),
        ("/playlist/test/source.m3u8?start=9999-12-31T23:59:59.999999", {400}),
        ("/playlist/test/source.m3u8?start=2026-02-30T00:00", {400}),
        ("/playlist/test/source.m3u8?start=%ff%fe", {400}),
        ("/playlist/test/source.m3u8?start=%00", {400}),
        ("/playlist/test/source.m3u8?start=" + "9" * 10_000, {400}),
        ("/cut/test/source.ts?range=,", {400}),
        ("/cut/test/source.ts?range=a,b,c", {400}),
        ("/cut/test/source.ts?range=2026-11-28T04:00,2026-11-28T04:00:01&type=%00", {400}),
        ("/files/%ff", {200}),
        ("/files/test/%00", {403}),
        ("/files/test/source/%ff", {400}),
        ("/files/test/source/9999-12-31T23", {200}),
        ("/files/test/source/2026-11-28T03?tombstones=%ff", {400}),
        ("/segments/test/source/0000-00-00T00/x.ts", {404}),
        ("/segments/test/source/2026-11-28T03/%ff.ts", {404}),
        ("/segments/test/source/2026-11-28T03/" + "a" * 300, {400}),
        ("/files/" + "a" * 256, {400}),
        ("/files/" + "%C3%A9" * 128, {400}),  # 256 bytes in UTF-8
        ("/playlist/" + "a" * 300 + ".m3u8", {400}),
        ("/playlist/%ff.m3u8", {404}),
        ("/playlist/test/%ff.m3u8", {404}),
        ("/coverage/%ff/%ff.json", {404}),
        ("/cut/test/source.ts?start=2026-11-28T04:00&start=2026-11-28T04:00&end=x", {400}),
    ],
)
async def test_hostile_requests(client: TestClient, target: str, statuses: set[int]) -> None:
    before = internal_errors()
    status, body = await raw_request(client.port, target)
    assert status in statuses, (target, body[:200])
    assert internal_errors() == before
