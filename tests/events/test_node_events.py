"""The quick-start node (SQLite, no set-up) keeps its events across a restart."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from tests.helpers import NODE_PORT, Child

RANGE = {"start": "2026-11-28T04:00:00Z", "end": "2026-11-28T04:00:10Z", "transition": None}


async def start_node(base: Path) -> tuple[str, Child]:
    """The quick-start node on the port it chose (``--port 0``), and its URL."""
    child = await Child.start(
        "node", "--base-dir", str(base), "--host", "127.0.0.1", "--port", "0",
        env={"STREAMVAULT_DATABASE_URL": ""},
    )  # fmt: skip
    return f"http://127.0.0.1:{await child.port(NODE_PORT)}", child


async def stop_node(node: Child) -> None:
    assert await node.stop() == 0, node.output()[-3000:]


async def test_events_survive_a_node_restart(tmp_path: Path) -> None:
    url, node = await start_node(tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            body = {"channel": "desertbus", "ranges": [RANGE], "title": "kept"}
            async with http.post(f"{url}/api/events", json=body) as response:
                assert response.status == 201
                event = await response.json()
            headers = {"If-Match": '"1"', "X-Editor": "alice"}
            change = {"state": "EDITED", "title": "kept across restarts"}
            async with http.patch(
                f"{url}/api/events/{event['id']}", json=change, headers=headers
            ) as response:
                assert response.status == 200
                edited = await response.json()
            async with http.get(f"{url}/files") as response:
                assert await response.json() == []  # the database's dot directory is not listed
    finally:
        await stop_node(node)
    assert await asyncio.to_thread(
        os.path.isfile, tmp_path / ".streamvault" / "streamvault.sqlite3"
    )

    url, node = await start_node(tmp_path)  # on another port: the store is what is kept
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/events/{event['id']}") as response:
                assert response.status == 200
                assert await response.json() == edited
                assert response.headers["ETag"] == '"2"'
            async with http.get(f"{url}/api/events/{event['id']}/history") as response:
                history = await response.json()
            assert [(h["action"], h["who"]) for h in history] == [
                ("create", "anonymous"),
                ("update", "alice"),
            ]
    finally:
        await stop_node(node)


async def test_a_node_with_cutter_true_cuts_its_events(
    tmp_path: Path, segment_datas: list[bytes]
) -> None:
    from streamvault.node.config import NodeConfig
    from streamvault.node.runtime import Node
    from streamvault.store.disk import SegmentStore

    from ..cutjobs.conftest import edited_event
    from ..restreamer.media import populate

    populate(SegmentStore(str(tmp_path)), "test", "source", segment_datas)
    config = NodeConfig(
        base_dir=str(tmp_path),
        host="127.0.0.1",
        port=0,
        coverage=False,
        cutter=True,
        cutter_output=str(tmp_path / "cuts"),
    )
    async with Node(config) as node, aiohttp.ClientSession() as http:
        body = edited_event((3.0, 7.5))
        async with http.post(f"{node.url}/api/events", json=body) as response:
            event = await response.json()

        async def state() -> str:
            async with http.get(f"{node.url}/api/events/{event['id']}") as response:
                return str((await response.json())["state"])

        deadline = asyncio.get_running_loop().time() + 120
        while await state() != "DONE":
            assert asyncio.get_running_loop().time() < deadline, await state()
            await asyncio.sleep(0.1)  # polling the API for the cutter's result
        async with http.get(f"{node.url}/api/events/{event['id']}") as response:
            output = (await response.json())["output"]
    assert await asyncio.to_thread(os.path.getsize, output["location"]) == output["size"] > 0
    assert os.path.dirname(output["location"]) == str(tmp_path / "cuts")
