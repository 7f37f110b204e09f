"""The wubloader-compatible routes: listings and segment files."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamvault.clock import FakeClock
from streamvault.restreamer.app import create_app
from streamvault.restreamer.http import Handler
from streamvault.restreamer.sendfile import TCP_CORK
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import encode_hash, parse_name, tombstone_name
from tests.helpers import eventually, tcp_queues, write_file

from .conftest import Archive, serve
from .rawhttp import raw_request

HOUR3, HOUR4 = "2026-11-28T03", "2026-11-28T04"


async def get_json(client: TestClient, path: str) -> object:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return await response.json()


async def test_listings(client: TestClient, archive: Archive) -> None:
    assert await get_json(client, "/files") == ["holes", "test"]
    assert await get_json(client, "/files/test") == ["480p", "source"]
    assert await get_json(client, "/files/nobody") == []
    assert await get_json(client, "/files/test/source") == [HOUR3, HOUR4]
    assert await get_json(client, "/files/test/nothing") == []
    names = await get_json(client, f"/files/test/source/{HOUR3}")
    assert names == sorted(s.name for s in archive.source if s.hour == HOUR3)
    assert await get_json(client, "/files/test/source/2020-01-01T00") == []


async def test_tombstones_only_when_asked_and_temp_files_never(
    client: TestClient, archive: Archive
) -> None:
    plain = await get_json(client, f"/files/test/source/{HOUR3}")
    with_tombstones = await get_json(client, f"/files/test/source/{HOUR3}?tombstones=true")
    tombstone = tombstone_name(archive.tombstoned.name)
    assert isinstance(plain, list) and isinstance(with_tombstones, list)
    assert tombstone not in plain and archive.tombstoned.name not in plain
    assert sorted([*plain, tombstone]) == with_tombstones
    assert archive.temp_name not in with_tombstones
    assert await asyncio.to_thread(
        os.path.exists, os.path.join(archive.base, "test", "source", HOUR3, archive.temp_name)
    )
    response = await client.get(f"/files/test/source/{HOUR3}?tombstones=perhaps")
    assert response.status == 400


async def test_segment_get_head_etag_and_caching(client: TestClient, archive: Archive) -> None:
    segment = archive.source[3]
    url = f"/segments/test/source/{segment.hour}/{segment.name}"
    response = await client.get(url)
    body = await response.read()
    assert response.status == 200
    assert body == archive.datas[3]
    assert response.headers["Content-Type"] == "video/mp2t"
    assert response.headers["ETag"] == f'"{segment.hash}"'
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Accept-Ranges"] == "bytes"
    head = await client.head(url)
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(body))
    assert await head.read() == b""
    cached = await client.get(url, headers={"If-None-Match": f'"{segment.hash}"'})
    assert cached.status == 304
    assert await cached.read() == b""


@pytest.mark.parametrize(
    ("header", "piece"),
    [
        ("bytes=0-99", slice(0, 100)),
        ("bytes=1000-", slice(1000, None)),
        ("bytes=-188", slice(-188, None)),
    ],
)
async def test_single_byte_ranges(
    client: TestClient, archive: Archive, header: str, piece: slice
) -> None:
    segment = archive.source[0]
    data = archive.datas[0]
    response = await client.get(
        f"/segments/test/source/{segment.hour}/{segment.name}", headers={"Range": header}
    )
    assert response.status == 206
    assert await response.read() == data[piece]
    start = piece.start if piece.start >= 0 else len(data) + piece.start
    end = (piece.stop or len(data)) - 1
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(data)}"


async def test_unsatisfiable_range(client: TestClient, archive: Archive) -> None:
    segment = archive.source[0]
    response = await client.get(
        f"/segments/test/source/{segment.hour}/{segment.name}",
        headers={"Range": f"bytes={len(archive.datas[0])}-"},
    )
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(archive.datas[0])}"


async def test_hidden_temp_and_unknown_files_are_404(client: TestClient, archive: Archive) -> None:
    hidden = archive.tombstoned
    for name in (hidden.name, archive.temp_name, "59:30.000000-2.0-full-" + "A" * 43 + ".ts", "x"):
        response = await client.get(f"/segments/test/source/{HOUR3}/{name}")
        assert response.status == 404, name
    tombstone = await client.get(f"/segments/test/source/{HOUR3}/{tombstone_name(hidden.name)}")
    assert tombstone.status == 200
    assert await tombstone.read() == b""


@pytest.mark.parametrize(
    "target",
    [
        "/files/%2e%2e",
        "/files/%2E%2E/%2E%2E",
        "/files/.hidden",
        "/files/test/..%2f..%2f",
        f"/files/test/source/{HOUR3}%2f..",
        "/segments/test/source/%2e%2e/%2e%2e",
        "/segments/test/source/..%2F..%2F..%2Fetc/passwd",
        "/segments/%2e%2e/%2e%2e/%2e%2e/etc%2fpasswd",
        "/files/test/../../etc",
        "/playlist/..%2f..%2ftest/source.m3u8",
        "/cut/.test/source.ts",
        "/coverage/test/.source.json",
    ],
)
async def test_no_way_out_of_the_base_directory(client: TestClient, target: str) -> None:
    status, body = await raw_request(client.port, target)
    assert status == 403, (target, body)
    assert body.count(b"\n") == 1


async def test_symlinks_out_of_the_base_directory_are_never_followed(
    client: TestClient, archive: Archive, tmp_path: pytest.TempPathFactory
) -> None:
    outside = os.path.join(str(tmp_path), "secret")
    os.makedirs(os.path.join(outside, "q", HOUR3))
    name = "00:00.000000-2.0-full-" + encode_hash(hashlib.sha256(b"secret").digest()) + ".ts"
    await write_file(os.path.join(outside, "q", HOUR3, name), b"secret")
    link = os.path.join(archive.base, "escape")
    os.symlink(outside, link)
    file_link = os.path.join(archive.base, "test", "source", HOUR3, name)
    os.symlink(os.path.join(outside, "q", HOUR3, name), file_link)
    try:
        # a symlink inside an hour hides that file only, and the answer does not name it
        response = await client.get(f"/segments/test/source/{HOUR3}/{name}")
        assert response.status == 404
        assert name not in await response.text()
        assert name not in await get_json(client, f"/files/test/source/{HOUR3}")
        assert "escape" not in await get_json(client, "/files")
        for path in ("/files/escape", f"/files/escape/q/{HOUR3}"):
            assert await get_json(client, path) == [], path  # as if it did not exist
        response = await client.get(f"/segments/escape/q/{HOUR3}/{name}")
        assert response.status == 404
        assert await response.read() != b"secret"
    finally:
        os.unlink(link)
        os.unlink(file_link)


async def test_bad_hour_is_400(client: TestClient) -> None:
    response = await client.get("/files/test/source/yesterday")
    assert response.status == 400
    assert "hour" in await response.text()


async def test_a_wubloader_backfiller_can_copy_everything(
    client: TestClient, archive: Archive
) -> None:
    """Only the paths a wubloader backfiller uses: list, fetch, verify each hash."""
    copied: dict[str, bytes] = {}
    for channel in await get_json(client, "/files"):  # type: ignore[attr-defined]
        for quality in await get_json(client, f"/files/{channel}"):  # type: ignore[attr-defined]
            for hour in await get_json(client, f"/files/{channel}/{quality}"):  # type: ignore[attr-defined]
                names = await get_json(client, f"/files/{channel}/{quality}/{hour}?tombstones=true")
                for name in names:  # type: ignore[attr-defined]
                    response = await client.get(f"/segments/{channel}/{quality}/{hour}/{name}")
                    assert response.status == 200, name
                    data = await response.read()
                    if not name.endswith(".tombstone"):
                        assert (
                            encode_hash(hashlib.sha256(data).digest())
                            == parse_name(channel, quality, hour, name).hash
                        )
                    copied[f"{channel}/{quality}/{hour}/{name}"] = data
    expected = {s.path for s in archive.source} | {s.path for s in archive.holes}
    assert expected <= set(copied)
    assert len(copied) == 20 + 10 + 18 + 1  # source, 480p, holes and one tombstone


async def test_a_segment_larger_than_the_socket_buffer_reaches_a_slow_reader_whole(
    tmp_path: Path, clock: FakeClock, seen: list[str]
) -> None:
    """The first sendfile sends what fits at once, the rest waits for the reader; a second
    request on the same connection must come after every byte of the first."""
    store = SegmentStore(str(tmp_path))
    big = os.urandom(24 << 20)
    small = os.urandom(1000)
    start = datetime(2026, 11, 28, 3, tzinfo=UTC)
    first = store.write_segment("big", "source", start, 2.0, "full", big)
    second = store.write_segment("big", "source", start + timedelta(seconds=2), 2.0, "full", small)
    client = await serve(str(tmp_path), clock, seen)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        for segment in (first, second):
            target = f"/segments/big/source/{segment.hour}/{segment.name}"
            writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        sock = writer.get_extra_info("socket")
        mine = sock.getsockname()[1]

        def server_waits() -> bool:  # the server filled the socket buffers and has to wait
            server_side, my_side = tcp_queues(client.port, mine), tcp_queues(mine, client.port)
            return bool(server_side and my_side and server_side[0] > 0 and my_side[1] > 0)

        await eventually(server_waits, "the server waiting for a slow reader")
        for body in (big, small):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            assert f"Content-Length: {len(body)}\r\n".encode() in head
            assert await reader.readexactly(len(body)) == body
        writer.close()
    finally:
        await client.close()


async def test_no_connection_is_left_corked_after_a_segment(
    archive: Archive, clock: FakeClock
) -> None:
    """The socket is corked while headers and file go out; left corked, every later small
    answer on that keep-alive connection would wait 200 ms for the kernel to flush it."""
    corked_after: list[int] = []

    @web.middleware
    async def cork_state(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:  # also after a refusal the handler raised (the 416)
            sock = request.transport.get_extra_info("socket") if request.transport else None
            if sock is not None:
                corked_after.append(sock.getsockopt(socket.IPPROTO_TCP, TCP_CORK))

    app = create_app(archive.base, clock=clock)
    app.middlewares.append(cork_state)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        url = f"/segments/test/source/{archive.source[0].hour}/{archive.source[0].name}"
        assert (await client.get(url)).status == 200
        assert (await client.get(url, headers={"Range": "bytes=1-9"})).status == 206
        assert (await client.head(url)).status == 200
        response = await client.get(url, headers={"Range": "bytes=999999999-"})
        assert response.status == 416
    assert corked_after == [0, 0, 0, 0]


async def test_options_preflights_are_answered_with_cors_headers(client: TestClient) -> None:
    response = await client.options(
        "/playlist/test/source.m3u8",
        headers={
            "Origin": "https://player.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "range"
    get = await client.get("/files", headers={"Origin": "https://player.example"})
    assert get.headers["Access-Control-Allow-Origin"] == "*"
