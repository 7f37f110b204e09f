"""Cuts over HTTP (SPEC §7), checked with PyAV."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from datetime import timedelta

import av
import pytest
from aiohttp.test_utils import TestClient

from streamvault.cutter.run import running_pids
from streamvault.timeutil import format_iso

from .conftest import Archive
from .media import T0


def iso(index: float) -> str:
    return format_iso(T0 + timedelta(seconds=2 * index))


async def fetch(client: TestClient, path: str, status: int = 200) -> bytes:
    response = await client.get(path)
    body = await response.read()
    assert response.status == status, body[:300]
    return body


def save(tmp_path: object, data: bytes, name: str = "cut") -> str:
    path = os.path.join(str(tmp_path), name)
    with open(path, "wb") as file:
        file.write(data)
    return path


def timestamps(path: str) -> dict[str, list[tuple[float, float]]]:
    """(dts, end) of every packet per stream type, in file order."""
    found: dict[str, list[tuple[float, float]]] = {}
    with av.open(path) as container:
        for packet in container.demux():
            if packet.dts is None or packet.time_base is None:
                continue
            start = float(packet.dts * packet.time_base)
            length = float((packet.duration or 0) * packet.time_base)
            found.setdefault(packet.stream.type, []).append((start, start + length))
    return found


def duration(path: str) -> float:
    """Play time of the video stream: first frame to the end of the last one."""
    video = sorted(timestamps(path)["video"])
    return video[-1][1] - video[0][0]


def assert_continuous(path: str) -> None:
    for kind, packets in timestamps(path).items():
        starts = [start for start, _ in packets]
        steps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(step > 0 for step in steps), f"{kind} timestamps go back"
        assert max(steps) < 0.1, f"{kind} timestamps jump by {max(steps):.3f} s"


async def test_rough_cut_is_the_segments_bytes(client: TestClient, archive: Archive) -> None:
    response = await client.get(f"/cut/test/source.ts?start={iso(2.5)}&end={iso(5.2)}")
    body = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"] == "video/mp2t"
    assert response.headers["Content-Length"] == str(len(body))
    assert body == b"".join(archive.datas[2:6])
    head = await client.head(f"/cut/test/source.ts?start={iso(2.5)}&end={iso(5.2)}")
    assert head.headers["Content-Length"] == str(len(body))


async def test_holes_need_allow_holes(client: TestClient, archive: Archive) -> None:
    path = f"/cut/holes/source.ts?start={iso(9)}&end={iso(13)}"
    refused = await fetch(client, path, 406)
    assert b"allow_holes=true" in refused and refused.count(b"\n") == 1
    body = await fetch(client, path + "&allow_holes=true")
    assert body == archive.datas[9] + archive.datas[12]


async def test_several_ranges_join_back_to_back(client: TestClient, archive: Archive) -> None:
    body = await fetch(
        client, f"/cut/test/source.ts?range={iso(7)},{iso(8)}&range={iso(1)},{iso(2)}"
    )
    assert body == archive.datas[7] + archive.datas[1]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cut/test/source.ts", 400),
        (f"/cut/test/source.ts?start={iso(1)}&end={iso(2)}&type=best", 400),
        (f"/cut/test/source.ts?start={iso(1)}&end={iso(2)}&allow_holes=sometimes", 400),
        (f"/cut/test/source.ts?range={iso(1)}", 400),
        ("/cut/test/source.ts?start=2020-01-01T00:00&end=2020-01-01T01:00&allow_holes=true", 406),
        (f"/cut/test/none.ts?start={iso(1)}&end={iso(2)}", 404),
        (f"/cut/nobody/source.ts?start={iso(1)}&end={iso(2)}", 404),
    ],
)
async def test_cut_errors(client: TestClient, path: str, status: int) -> None:
    body = await fetch(client, path, status)
    assert body.count(b"\n") == 1


@pytest.mark.parametrize("type", ["fast", "smart"])
async def test_fast_and_smart_cuts_are_exact(
    client: TestClient, type: str, tmp_path: pytest.TempPathFactory
) -> None:
    response = await client.get(f"/cut/test/source.ts?start={iso(1.25)}&end={iso(6.6)}&type={type}")
    body = await response.read()
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(body))  # edges first, then sendfile
    path = save(tmp_path, body)
    assert abs(duration(path) - 10.7) < 0.1
    with av.open(path) as container:
        assert abs(container.duration / 1_000_000 - 10.7) < 0.1  # what ffprobe would report
        # the re-encoded edges carry the source's PIDs: one program, two streams throughout
        assert sorted(stream.type for stream in container.streams) == ["audio", "video"]
    assert_continuous(path)  # the source is one recording, so even fast is continuous


async def test_smart_cut_of_several_ranges_is_continuous(
    client: TestClient, tmp_path: pytest.TempPathFactory
) -> None:
    path = save(
        tmp_path,
        await fetch(
            client,
            f"/cut/test/source.ts?range={iso(12.5)},{iso(14)}&range={iso(2)},{iso(3.75)}&type=smart",
        ),
    )
    assert abs(duration(path) - 6.5) < 0.1
    assert_continuous(path)


@pytest.mark.parametrize(
    ("type", "content_type"),
    [("mpegts", "video/mp2t"), ("mp4", "video/mp4"), ("webm", "video/webm")],
)
async def test_full_reencodes(
    client: TestClient, type: str, content_type: str, tmp_path: pytest.TempPathFactory
) -> None:
    response = await client.get(
        f"/cut/test/source.ts?range={iso(1.5)},{iso(3)}&range={iso(10)},{iso(11.25)}&type={type}"
    )
    body = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert f'.{"ts" if type == "mpegts" else type}"' in response.headers["Content-Disposition"]
    path = save(tmp_path, body)
    assert abs(duration(path) - 5.5) < 0.1
    with av.open(path) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames - 5.5 * 30) <= 3


def top_boxes(data: bytes) -> list[bytes]:
    """The types of an mp4 file's top-level boxes, in order."""
    boxes, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        boxes.append(data[at + 4 : at + 8])
        if size < 8:
            break
        at += size
    return boxes


@pytest.mark.parametrize("type", ["mp4", "webm"])
async def test_browser_files_are_complete_and_seekable(
    client: TestClient, type: str, tmp_path: pytest.TempPathFactory
) -> None:
    from streamvault.restreamer.state import RENDERED

    path = f"/cut/test/source.ts?start={iso(1.5)}&end={iso(9)}&type={type}"
    response = await client.get(path)
    body = await response.read()
    assert response.status == 200
    assert int(response.headers["Content-Length"]) == len(body)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"].endswith(f'.{type}"')
    with av.open(save(tmp_path, body)) as container:  # the true duration, in the container
        assert container.duration is not None
        assert abs(container.duration / 1_000_000 - 15.0) < 0.2
    if type == "mp4":
        boxes = top_boxes(body)
        assert b"moof" not in boxes  # one movie, not fragments
        assert boxes.index(b"moov") < boxes.index(b"mdat")  # +faststart: the index first
    # a browser seeking: a range of the same file, from the kept render
    rendered = client.app[RENDERED]
    renders = rendered.renders
    response = await client.get(path, headers={"Range": "bytes=1000-1999"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(body)}"
    assert await response.read() == body[1000:2000]
    assert rendered.renders == renders


async def wait_for_new_ffmpeg(before: frozenset[int]) -> int:
    for _ in range(1000):
        started = running_pids() - before
        if started:
            break
        await asyncio.sleep(0.01)
    (pid,) = started
    return pid


async def assert_killed(pid: int) -> None:
    for _ in range(500):
        if pid not in running_pids():
            break
        await asyncio.sleep(0.01)
    assert pid not in running_pids()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


async def test_a_client_that_leaves_stops_ffmpeg(client: TestClient) -> None:
    before = running_pids()
    response = await client.get(f"/cut/test/source.ts?start={iso(0)}&end={iso(20)}&type=mpegts")
    assert response.status == 200
    pid = await wait_for_new_ffmpeg(before)
    os.kill(pid, signal.SIGSTOP)  # ffmpeg can no longer finish on its own
    response.close()  # the client goes away
    await assert_killed(pid)


async def test_a_client_that_leaves_a_browser_file_render_stops_ffmpeg(
    client: TestClient,
) -> None:
    before = running_pids()
    request = asyncio.ensure_future(
        client.get(f"/cut/test/source.ts?start={iso(0)}&end={iso(20)}&type=webm")
    )
    pid = await wait_for_new_ffmpeg(before)
    os.kill(pid, signal.SIGSTOP)
    request.cancel()  # the client goes away before the file is ready
    await assert_killed(pid)


async def test_the_406_after_a_suspect_segment_says_what_is_wrong(
    tmp_path: pytest.TempPathFactory, segment_datas: list[bytes]
) -> None:
    from streamvault.clock import FakeClock
    from streamvault.store.disk import SegmentStore

    from .conftest import LATER, serve
    from .media import populate, start_of

    store = SegmentStore(str(tmp_path))
    populate(store, "s", "source", segment_datas[:3], skip=(1,))
    store.write_segment("s", "source", start_of(1), 2.0, "suspect", segment_datas[1])
    client = await serve(str(tmp_path), FakeClock(LATER), [])
    try:
        response = await client.get(f"/cut/s/source.ts?start={iso(0)}&end={iso(3)}")
        text = await response.text()
    finally:
        await client.close()
    assert response.status == 406
    at = format_iso(start_of(2))
    assert f"from {at} to {at}" not in text  # not a zero-length "hole"
    assert f"at {at}, where a suspect or partial segment ends" in text
