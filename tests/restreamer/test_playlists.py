"""HLS playlists, fetched by real players: ffmpeg and streamlink."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

import av
import pytest
from aiohttp.test_utils import TestClient

from streamvault.clock import FakeClock
from streamvault.ffmpeg import ffmpeg_exe
from streamvault.restreamer import playlists
from streamvault.restreamer.state import INFLIGHT
from streamvault.store import settle
from streamvault.store.disk import SegmentStore
from streamvault.timeutil import format_iso
from tests.helpers import write_file

from .conftest import Archive, serve
from .media import T0, populate, start_of

M3U8 = "application/vnd.apple.mpegurl"


def iso(index: float) -> str:
    return format_iso(T0 + timedelta(seconds=2 * index))


async def playlist(client: TestClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text
    if status == 200:
        assert response.headers["Content-Type"] == f"{M3U8}; charset=utf-8"
    return text


def packets(path: str) -> dict[str, list[bytes]]:
    """The payload of every packet, per stream type (a remux may interleave differently)."""
    found: dict[str, list[bytes]] = {}
    with av.open(path) as container:
        for packet in container.demux():
            if packet.size:
                found.setdefault(packet.stream.type, []).append(bytes(packet))
    return found


async def test_closed_range_playlist(client: TestClient, archive: Archive) -> None:
    text = await playlist(client, f"/playlist/test/source.m3u8?start={iso(2.5)}&end={iso(6)}")
    uris = [line for line in text.splitlines() if not line.startswith("#")]
    assert [uri.rsplit("/", 1)[1] for uri in uris] == [s.name for s in archive.source[2:6]]
    assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == 4
    assert "#EXT-X-TARGETDURATION:2\n" in text
    assert text.endswith("#EXT-X-ENDLIST\n")


async def test_holes_become_discontinuities(client: TestClient) -> None:
    text = await playlist(client, f"/playlist/holes/source.m3u8?start={iso(0)}&end={iso(20)}")
    lines = text.splitlines()
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    after = lines[lines.index("#EXT-X-DISCONTINUITY") + 1]
    assert after == f"#EXT-X-PROGRAM-DATE-TIME:{iso(12)}"


async def test_ffmpeg_fetches_exactly_the_selected_segments(
    client: TestClient, archive: Archive, seen: list[str], tmp_path: pytest.TempPathFactory
) -> None:
    url = client.make_url(f"/playlist/test/source.m3u8?start={iso(8.5)}&end={iso(13)}")
    out = f"{tmp_path}/out.ts"
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(url),
        "-map", "0", "-c", "copy", "-f", "mpegts", out,
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    wanted = archive.source[8:13]
    fetched = [path for path in seen if path.startswith("/segments/")]
    assert fetched == [f"/segments/{s.path}" for s in wanted]
    concatenated = f"{tmp_path}/expected.ts"
    await write_file(concatenated, b"".join(archive.datas[8:13]))
    expected = packets(concatenated)
    assert set(expected) == {"video", "audio"}
    assert packets(out) == expected


async def test_streamlink_gets_the_bytes_of_the_selected_segments(
    client: TestClient, archive: Archive
) -> None:
    from streamlink import Streamlink

    url = str(client.make_url(f"/playlist/test/source.m3u8?start={iso(3)}&end={iso(7.2)}"))

    def fetch() -> bytes:
        session = Streamlink()
        stream = session.streams("hls://" + url)["live"]
        chunks = []
        with stream.open() as output:
            while chunk := output.read(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    data = await asyncio.wait_for(asyncio.to_thread(fetch), 60)
    assert data == b"".join(archive.datas[3:8])


async def test_master_playlist_lists_qualities_with_data(client: TestClient) -> None:
    both = await playlist(client, f"/playlist/test.m3u8?start={iso(0)}&end={iso(4)}")
    assert both.count("#EXT-X-STREAM-INF") == 2
    uris = [line for line in both.splitlines() if not line.startswith("#")]
    assert (
        uris[0]
        == f"test/source.m3u8?start={iso(0).replace(':', '%3A')}&end={iso(4).replace(':', '%3A')}"
    )
    assert uris[1].startswith("test/480p.m3u8?")
    only_source = await playlist(client, f"/playlist/test.m3u8?start={iso(12)}&end={iso(14)}")
    assert only_source.count("#EXT-X-STREAM-INF") == 1
    assert "480p" not in only_source


async def test_master_playlist_works_in_streamlink(client: TestClient) -> None:
    from streamlink import Streamlink

    url = str(client.make_url(f"/playlist/test.m3u8?start={iso(0)}&end={iso(4)}"))
    streams = await asyncio.to_thread(lambda: Streamlink().streams("hls://" + url))
    # both are 160x90 here: named by size, the original first, and it is the best
    assert {"90p", "90p_alt", "best"} <= set(streams)
    assert "/playlist/test/source.m3u8?" in streams["best"].url


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/playlist/nobody/source.m3u8", 404),
        ("/playlist/test/nothing.m3u8", 404),
        ("/playlist/nobody.m3u8", 404),
        ("/playlist/test/source.m3u8?start=2020-01-01T00:00:00&end=2020-01-01T01:00:00", 406),
        ("/playlist/test.m3u8?start=2020-01-01T00:00:00&end=2020-01-01T01:00:00", 406),
        ("/playlist/test/source.m3u8?start=soon", 400),
        ("/playlist/test/source.m3u8?start=2026-11-28T04:00:00&end=2026-11-28T03:00:00", 400),
        ("/playlist/test/source.m3u8", 400),  # a day of implicit range
        ("/playlist/test.m3u8", 400),
    ],
)
async def test_playlist_errors(client: TestClient, path: str, status: int) -> None:
    text = await playlist(client, path, status)
    assert text.count("\n") == 1


async def test_explicit_ranges_of_any_length_are_served(client: TestClient) -> None:
    text = await playlist(
        client, "/playlist/test/source.m3u8?start=2026-11-27T00:00&end=2026-11-29T00:00"
    )
    assert text.count("#EXTINF") == 20


async def test_live_playlist_grows_and_has_no_endlist(
    tmp_path: pytest.TempPathFactory, segment_datas: list[bytes], seen: list[str]
) -> None:
    store = SegmentStore(str(tmp_path))
    populate(store, "live", "source", segment_datas[:5])
    clock = FakeClock(start_of(5))
    client = await serve(str(tmp_path), clock, seen)
    try:
        first = await playlist(client, "/playlist/live/source.m3u8")
        assert first.count("#EXTINF") == 5
        assert "#EXT-X-ENDLIST" not in first
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in first
        # the next segment arrives (same hour directory, within the same second)
        store.write_segment("live", "source", start_of(5), 2.0, "full", segment_datas[5])
        await clock.advance(2.5)
        second = await playlist(client, "/playlist/live/source.m3u8")
        assert second.count("#EXTINF") == 6
        assert second.startswith(first.rsplit("\n", 1)[0].rsplit("#EXT-X-PROGRAM", 1)[0])
        # an end in the future is live too; one in the past is closed
        future = await playlist(client, f"/playlist/live/source.m3u8?start={iso(0)}&end={iso(100)}")
        assert "#EXT-X-ENDLIST" not in future
        past = await playlist(client, f"/playlist/live/source.m3u8?start={iso(0)}&end={iso(3)}")
        assert past.endswith("#EXT-X-ENDLIST\n")
    finally:
        await client.close()


async def test_identical_concurrent_requests_share_one_computation(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    computed = 0
    real = playlists.media_text

    def slow_media_text(*args: object) -> str:
        nonlocal computed
        computed += 1
        release.wait(10)
        return real(*args)  # type: ignore[arg-type]

    inflight = client.app[INFLIGHT]  # type: ignore[index]
    calls = 0
    real_run = inflight.run

    async def counting_run(key: object, factory: Callable[[], Awaitable[str]]) -> str:
        nonlocal calls
        calls += 1
        return await real_run(key, factory)  # type: ignore[no-any-return]

    monkeypatch.setattr(playlists, "media_text", slow_media_text)
    monkeypatch.setattr(inflight, "run", counting_run)
    path = f"/playlist/test/source.m3u8?start={iso(0)}&end={iso(10)}"
    requests = [asyncio.ensure_future(client.get(path)) for _ in range(5)]
    for _ in range(500):
        if calls == 5:
            break
        await asyncio.sleep(0.01)
    release.set()
    bodies = {await (await request).text() for request in requests}
    assert len(bodies) == 1 and "#EXTINF" in bodies.pop()
    assert (calls, inflight.started, computed) == (5, 1, 1)


@pytest.mark.parametrize("settle_ns", [0, settle.SETTLE_NS])
async def test_a_backfilled_segment_appears_in_the_next_closed_playlist(
    tmp_path: pytest.TempPathFactory,
    segment_datas: list[bytes],
    seen: list[str],
    monkeypatch: pytest.MonkeyPatch,
    settle_ns: int,
) -> None:
    monkeypatch.setattr(settle, "SETTLE_NS", settle_ns)  # 0: cached results are trusted at once
    store = SegmentStore(str(tmp_path))
    populate(store, "c", "source", segment_datas[:8], skip=(4,))
    for directory, _, _ in os.walk(str(tmp_path)):
        os.utime(directory, ns=(10**9, 10**9))  # old, so the next write surely changes it
    client = await serve(str(tmp_path), FakeClock(start_of(100)), seen)
    path = f"/playlist/c/source.m3u8?start={iso(0)}&end={iso(8)}"
    try:
        before = await playlist(client, path)
        assert before == await playlist(client, path)
        assert before.count("#EXT-X-DISCONTINUITY") == 1
        store.write_segment("c", "source", start_of(4), 2.0, "full", segment_datas[4])
        after = await playlist(client, path)
        assert after.count("#EXTINF") == 8
        assert "#EXT-X-DISCONTINUITY" not in after
    finally:
        await client.close()


async def test_streamlink_keeps_reloading_a_live_playlist(
    tmp_path: pytest.TempPathFactory,
    segment_datas: list[bytes],
    seen: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Segments that arrive while streamlink plays are played; the range closing ends it."""
    from streamlink import Streamlink
    from streamlink.stream.hls.hls import HLSStreamWorker

    # streamlink reloads no faster than once a second; our clock is fake, so let it hurry
    monkeypatch.setattr(HLSStreamWorker, "_RELOAD_TIME_MIN", 0.05)

    store = SegmentStore(str(tmp_path))
    populate(store, "live", "source", segment_datas[:3])
    clock = FakeClock(start_of(3))
    client = await serve(str(tmp_path), clock, seen)
    url = str(client.make_url(f"/playlist/live/source.m3u8?start={iso(0)}&end={iso(6)}"))

    def play() -> bytes:
        session = Streamlink({"hls-live-edge": 10, "hls-playlist-reload-time": 0.1})
        chunks = []
        with session.streams("hls://" + url)["live"].open() as output:
            while chunk := output.read(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    try:
        player = asyncio.ensure_future(asyncio.to_thread(play))
        for index in range(3, 6):
            for _ in range(1000):  # until the player has fetched every segment there is
                if sum(path.startswith("/segments/") for path in seen) >= index:
                    break
                await asyncio.sleep(0.01)
            store.write_segment(
                "live", "source", start_of(index), 2.0, "full", segment_datas[index]
            )
            await clock.advance(2.0)
        await clock.advance(1.0)  # now past the range's end: the playlist gets its ENDLIST
        data = await asyncio.wait_for(player, 60)
    finally:
        await client.close()
    assert data == b"".join(segment_datas[:6])
    playlist_fetches = sum(path == "/playlist/live/source.m3u8" for path in seen)
    assert playlist_fetches >= 4  # the first, one reload per new segment, the last


async def test_ffmpeg_keeps_reloading_a_live_playlist(
    tmp_path: pytest.TempPathFactory, segment_datas: list[bytes], seen: list[str]
) -> None:
    """ffmpeg reloads at its own pace (a target duration, 2 s): two new segments, then the end."""
    store = SegmentStore(str(tmp_path))
    populate(store, "live", "source", segment_datas[:3])
    clock = FakeClock(start_of(3))
    client = await serve(str(tmp_path), clock, seen)
    url = client.make_url(f"/playlist/live/source.m3u8?start={iso(0)}&end={iso(5)}")
    out = f"{tmp_path}/out.ts"
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-live_start_index", "0",
        "-i", str(url), "-map", "0", "-c", "copy", "-f", "mpegts", out,
    )  # fmt: skip
    try:
        for index in range(3, 5):
            for _ in range(1000):  # until ffmpeg has fetched every segment there is
                if sum(path.startswith("/segments/") for path in seen) >= index:
                    break
                await asyncio.sleep(0.01)
            store.write_segment(
                "live", "source", start_of(index), 2.0, "full", segment_datas[index]
            )
            await clock.advance(2.0)
        await clock.advance(1.0)  # past the range's end: ENDLIST, and ffmpeg finishes
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await client.close()
    concatenated = f"{tmp_path}/expected.ts"
    await write_file(concatenated, b"".join(segment_datas[:5]))
    assert packets(out) == packets(concatenated)
