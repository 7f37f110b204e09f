"""GET /CHANNEL/chat.json: the merged messages of a range, from several nodes' batch files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from streamvault.chat.store import ChatStore
from streamvault.clock import FakeClock
from streamvault.restreamer.app import create_app

T = 1_796_084_400.0  # 2026-12-01T00:20:00Z, a batch start


def _message(ident: str | None, time: float, time_range: float, node: str) -> dict[str, Any]:
    return {
        "command": "PRIVMSG" if ident else "JOIN",
        "params": ["#alpha", f"hello {ident}"] if ident else ["#alpha"],
        "sender": "v",
        "user": "v",
        "host": "v.tmi.twitch.tv",
        "tags": {"id": ident} if ident else None,
        "receivers": {node: time + 1},
        "time": time,
        "time_range": time_range,
    }


async def _client(base: Path) -> TestClient:
    client = TestClient(TestServer(create_app(str(base), clock=FakeClock()), host="127.0.0.1"))
    await client.start_server()
    return client


async def test_chat_json_merges_the_nodes_files_and_cuts_the_range(tmp_path: Path) -> None:
    store = ChatStore(str(tmp_path))
    a = [
        _message("m1", T + 5, 0, "a"),
        _message("m2", T + 70, 0, "a"),
        _message(None, T - 50, 55, "a"),
    ]
    b = [
        _message("m1", T + 5, 0, "b"),
        _message("m3", T + 200, 0, "b"),
        _message(None, T - 30, 60, "b"),
    ]
    store.write("alpha", a)
    store.write("alpha", b)  # a second file for the same batch times: not merged on disk yet
    client = await _client(tmp_path)
    try:
        response = await client.get(
            "/alpha/chat.json",
            params={"start": "2026-12-01T00:20:00Z", "end": "2026-12-01T00:21:30"},
        )
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        messages = await response.json()
        # the JOIN both nodes saw is one message, with the intersection of its ranges
        assert [(m["command"], m["time"], sorted(m["receivers"])) for m in messages] == [
            ("JOIN", T - 30, ["a", "b"]),
            ("PRIVMSG", T + 5, ["a", "b"]),
            ("PRIVMSG", T + 70, ["a"]),
        ]
        assert messages[0]["time_range"] == 35
        assert messages[1]["receivers"] == {"a": T + 6, "b": T + 6}
    finally:
        await client.close()


async def test_chat_json_refuses_what_it_cannot_answer(tmp_path: Path) -> None:
    ChatStore(str(tmp_path)).write("alpha", [_message("m1", T, 0, "a")])
    client = await _client(tmp_path)
    try:
        for params, status in [
            ({"start": "2026-12-01T00:00:00", "end": "2026-12-01T02:00:01"}, 400),  # > 2 h
            ({"start": "2026-12-01T00:00:00"}, 400),
            ({"start": "yesterday", "end": "2026-12-01T01:00:00"}, 400),
            ({"start": "2026-12-01T01:00:00", "end": "2026-12-01T00:00:00"}, 400),
        ]:
            response = await client.get("/alpha/chat.json", params=params)
            assert response.status == status, (params, await response.text())
        ok = {"start": "2026-12-01T00:00:00", "end": "2026-12-01T02:00:00"}
        assert (await client.get("/alpha/chat.json", params=ok)).status == 200
        assert (await client.get("/nobody/chat.json", params=ok)).status == 404
        assert (await client.get("/.hidden/chat.json", params=ok)).status == 403
    finally:
        await client.close()
