"""What wubloader peers ask of a restreamer beyond segments (SPEC §5): tombstones of both
forms, chat batches, ``/extras/DIR`` and the files under it, maps under ``/segments/``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from streamvault.restreamer.app import create_app
from streamvault.store.chat_naming import batch_name_for
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import encode_hash, tombstone_name

START = datetime(2026, 11, 28, 3, 4, 0, tzinfo=UTC)
HOUR = "2026-11-28T03"


def client_for(base: Path) -> TestClient:
    return TestClient(TestServer(create_app(str(base)), host="127.0.0.1"))


async def test_a_tombstone_of_either_form_hides_a_segment_and_is_never_served_as_video(
    tmp_path: Path,
) -> None:
    store = SegmentStore(str(tmp_path))
    kept, canonical, legacy = (
        store.write_segment("c", "source", START.replace(second=2 * i), 2.0, "full", bytes([i]) * 9)
        for i in range(3)
    )
    store.write_tombstone(canonical)
    (tmp_path / "c" / "source" / HOUR / (legacy.name + ".tombstone")).write_bytes(b"")
    async with client_for(tmp_path) as client:
        listed = await (await client.get(f"/files/c/source/{HOUR}")).json()
        assert listed == [kept.name]
        with_tombstones = await (await client.get(f"/files/c/source/{HOUR}?tombstones=true")).json()
        assert with_tombstones == sorted(
            [kept.name, tombstone_name(canonical.name), tombstone_name(legacy.name)]
        )
        for hidden in (canonical, legacy):
            response = await client.get(f"/segments/c/source/{HOUR}/{hidden.name}")
            assert response.status == 404
            assert (await client.head(f"/segments/c/source/{HOUR}/{hidden.name}")).status == 404
        for name in (tombstone_name(canonical.name), legacy.name + ".tombstone"):
            response = await client.get(f"/segments/c/source/{HOUR}/{name}")
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert await response.read() == b""
        response = await client.get(f"/segments/c/source/{HOUR}/{kept.name}")
        assert response.status == 200 and response.headers["Content-Type"] == "video/mp2t"


async def test_chat_batches_are_listed_and_served_with_their_hash(tmp_path: Path) -> None:
    content = b'{"command":"PRIVMSG","time":1}\n{"command":"PRIVMSG","time":2}'
    name = batch_name_for(START, content)
    directory = tmp_path / "c" / "chat" / HOUR
    directory.mkdir(parents=True)
    (directory / name).write_bytes(content)
    hidden = batch_name_for(START.replace(minute=5), b"gone")
    (directory / hidden).write_bytes(b"gone")
    (directory / tombstone_name(hidden)).write_bytes(b"")
    (directory / f".{name}.abc.tmp").write_bytes(b"half")  # a copy being written
    async with client_for(tmp_path) as client:
        assert await (await client.get("/files/c")).json() == ["chat"]
        assert await (await client.get("/files/c/chat")).json() == [HOUR]
        assert await (await client.get(f"/files/c/chat/{HOUR}")).json() == [name]
        response = await client.get(f"/segments/c/chat/{HOUR}/{name}")
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        body = await response.read()
        assert body == content
        assert response.headers["ETag"] == f'"{encode_hash(hashlib.sha256(body).digest())}"'
        assert (await client.get(f"/segments/c/chat/{HOUR}/{hidden}")).status == 404
        assert (await client.get(f"/segments/c/chat/{HOUR}/notes.json")).status == 404


async def test_extras_are_listed_recursively_and_served(tmp_path: Path) -> None:
    files = {
        "25/dark-1.0": b"\x89PNG one emote",
        "25/light-2.0": b"\x89PNG another",
        "30/a/b/deep-3.0": b"four levels down",
        "top.txt": b"at the top",
    }
    for path, data in files.items():
        (tmp_path / "emotes" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "emotes" / path).write_bytes(data)
    (tmp_path / "emotes" / ".hidden").write_bytes(b"never listed")
    (tmp_path / "emotes" / "link").symlink_to(tmp_path / "emotes" / "top.txt")
    async with client_for(tmp_path) as client:
        response = await client.get("/extras/emotes")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert await response.json() == sorted(files)
        assert await (await client.get("/extras/nothing-here")).json() == []
        for path, data in files.items():
            response = await client.get(f"/segments/emotes/{path}")
            assert response.status == 200, path
            assert await response.read() == data
            assert response.headers["Content-Type"] != "video/mp2t"
        assert (await client.get("/segments/emotes/25/missing")).status == 404
        assert (await client.get("/segments/emotes/.hidden")).status == 403
        assert (await client.get("/segments/emotes/link")).status in (403, 404)
        assert (await client.get("/extras/.streamvault")).status == 403
        assert (await client.get("/segments/emotes/..%2F..%2Fetc/passwd")).status == 403
        spec = await (await client.get("/openapi.json")).json()
        assert {"/extras/{dir}", "/segments/{path}"} <= set(spec["paths"])


async def test_coverage_maps_under_segments_and_at_the_old_path(tmp_path: Path) -> None:
    (tmp_path / "coverage-maps").mkdir()
    png = b"\x89PNG the map"
    (tmp_path / "coverage-maps" / "c_source_coverage.png").write_bytes(png)
    async with client_for(tmp_path) as client:
        for prefix in ("/segments/coverage-maps", "/coverage-maps"):
            response = await client.get(f"{prefix}/c_source_coverage.png")
            assert response.status == 200, prefix
            assert response.headers["Content-Type"] == "image/png"
            assert await response.read() == png
        spec = await (await client.get("/openapi.json")).json()
        assert "/segments/coverage-maps/{name}" in spec["paths"]
