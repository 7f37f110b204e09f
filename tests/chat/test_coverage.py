"""Chat coverage: batches per hour and gaps, from the batch names, on the API and the metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry, generate_latest

from streamvault.chat.coverage import chat_coverage
from streamvault.chat.metrics import ChatCoverageCollector
from streamvault.chat.store import ChatStore
from streamvault.clock import FakeClock
from streamvault.restreamer.app import create_app

H = 1_796_083_200  # 2026-12-01T00:00:00Z


def _write(base: Path, minutes: list[int], node: str = "a") -> None:
    messages = [
        {"command": "PRIVMSG", "params": ["#alpha", "hi"], "tags": {"id": f"{node}{m}"},
         "receivers": {node: H + 60.0 * m}, "time": H + 60.0 * m + 1, "time_range": 0}
        for m in minutes
    ]  # fmt: skip
    ChatStore(str(base)).write("alpha", messages)


def test_gaps_lie_between_batches_and_duplicates_count_once() -> None:
    starts = [H, H + 60, H + 60, H + 300, H + 3600, H + 3660]
    coverage = chat_coverage(starts)
    assert (coverage.batches, coverage.files) == (5, 6)
    assert coverage.per_hour == {"2026-12-01T00": 3, "2026-12-01T01": 2}
    assert [(g.start - H, g.seconds) for g in coverage.gaps] == [(120, 180), (360, 3240)]
    assert chat_coverage([]).to_json()["gaps"] == []
    # a range keeps the batch holding its start, and nothing from its end on
    ranged = chat_coverage(starts, datetime.fromtimestamp(H + 90, UTC),
                           datetime.fromtimestamp(H + 3600, UTC))  # fmt: skip
    assert (ranged.batches, ranged.gap_seconds) == (2, 180)


async def test_coverage_json_and_metrics_for_chat(tmp_path: Path) -> None:
    _write(tmp_path, [0, 1, 2, 5, 6])
    _write(tmp_path, [6], node="b")  # a second file for minute 6, not merged yet
    app = create_app(str(tmp_path), clock=FakeClock(datetime.fromtimestamp(H + 3600, UTC)))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get("/coverage/alpha/chat.json", params={
            "start": "2026-12-01T00:00:00", "end": "2026-12-01T01:00:00"})  # fmt: skip
        assert response.status == 200
        body = await response.json()
    finally:
        await client.close()
    assert body["batches"] == 5 and body["files"] == 6 and body["unmerged"] == 1
    assert body["hours"] == {"2026-12-01T00": 5}
    assert body["gaps"] == [
        {"start": "2026-12-01T00:03:00.000000Z", "end": "2026-12-01T00:05:00.000000Z",
         "seconds": 120}
    ]  # fmt: skip
    registry = CollectorRegistry()
    registry.register(ChatCoverageCollector(ChatStore(str(tmp_path)), ["alpha"]))
    text = generate_latest(registry).decode()
    assert (
        'streamvault_chat_coverage_hour_batches{channel="alpha",hour="2026-12-01T00"} 5.0' in text
    )
    assert 'streamvault_chat_coverage_gap_seconds{channel="alpha"} 120.0' in text
    assert 'streamvault_chat_coverage_unmerged_files{channel="alpha"} 1.0' in text
