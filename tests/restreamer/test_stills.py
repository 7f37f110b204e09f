"""``/frame``, ``/waveform`` and ``/spans`` (SPEC §5 ★) over HTTP, against a store of the
simulator's video: real PNGs decoded with Pillow, errors as one-line 4xx answers."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from streamvault.clock import FakeClock
from streamvault.restreamer import stills
from streamvault.restreamer.app import create_app
from tests.simstore import fill

T0 = datetime(2026, 11, 28, 3, 59, 0, tzinfo=UTC)
COUNT = 40  # 80 s, crossing into hour 04
HOLE = (10, 11, 12)  # 6 s missing from T0 + 20 s


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("stills")
    cache = tmp_path_factory.mktemp("simcache")
    asyncio.run(fill(base, cache, "sim", ["source", "480p"], T0, COUNT, skip=HOLE))
    return base


@pytest.fixture
async def client(base: Path) -> AsyncIterator[TestClient]:
    app = create_app(str(base), clock=FakeClock(T0 + timedelta(days=1)))
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    yield client
    await client.close()


def image(body: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(body))
    picture.load()
    return picture


def colours(picture: Image.Image) -> int:
    return len(picture.convert("RGBA").getcolors(maxcolors=1 << 20) or [])


async def test_frame_is_the_videos_picture(client: TestClient) -> None:
    response = await client.get("/frame/sim/source.png", params={"timestamp": at(5.5)})
    assert response.status == 200, await response.text()
    assert response.content_type == "image/png"
    picture = image(await response.read())
    assert picture.size == (160, 90)
    assert colours(picture) > 20  # the test pattern, not a blank frame


async def test_frames_differ_over_time_and_repeat_from_the_cache(client: TestClient) -> None:
    first = await (await client.get("/frame/sim/source.png", params={"timestamp": at(1)})).read()
    later = await (await client.get("/frame/sim/source.png", params={"timestamp": at(3.5)})).read()
    again = await (await client.get("/frame/sim/source.png", params={"timestamp": at(1)})).read()
    assert first != later  # the counter in the test pattern moved on
    assert again == first
    cache = client.app[stills._IMAGES]
    assert len(cache) >= 2 and cache.size <= cache.max_bytes


async def test_frame_in_the_last_instant_of_a_segment(client: TestClient) -> None:
    response = await client.get("/frame/sim/source.png", params={"timestamp": at(7.999)})
    assert response.status == 200
    assert image(await response.read()).size == (160, 90)


async def test_waveform_has_the_asked_size_and_leaves_the_hole_empty(client: TestClient) -> None:
    params = {"start": at(0), "end": at(40), "size": "400x50"}
    response = await client.get("/waveform/sim/source.png", params=params)
    assert response.status == 200, await response.text()
    picture = image(await response.read()).convert("RGBA")
    assert picture.size == (400, 50)

    def column_drawn(x: int) -> bool:
        return any(picture.getpixel((x, y))[3] > 0 for y in range(50))  # type: ignore[index]

    # 10 px per second: video in 0-20 s and 26-40 s, the hole (20-26 s) transparent.
    assert all(column_drawn(x) for x in (5, 100, 190, 270, 390))
    assert not any(column_drawn(x) for x in range(205, 255))


async def test_spans_show_video_hole_and_no_data(client: TestClient) -> None:
    response = await client.get("/spans/sim/source.json", params={"start": at(-60), "end": at(90)})
    assert response.status == 200
    body = await response.json()
    kinds = [(span["kind"], span["start"], span["end"]) for span in body["spans"]]
    assert [kind for kind, _, _ in kinds] == ["none", "full", "hole", "full", "none"]
    assert kinds[2][1].startswith("2026-11-28T03:59:20")
    assert kinds[2][2].startswith("2026-11-28T03:59:26")
    assert body["first"].startswith("2026-11-28T03:59:00")


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/frame/sim/source.png", {}, 400),
        ("/frame/sim/source.png", {"timestamp": "yesterday"}, 400),
        ("/frame/sim/source.png", {"timestamp": at(21)}, 406),  # in the hole
        ("/frame/sim/source.png", {"timestamp": at(-30)}, 406),  # before the stream
        ("/frame/nobody/source.png", {"timestamp": at(1)}, 404),
        ("/frame/sim/1080p.png", {"timestamp": at(1)}, 404),
        ("/waveform/sim/source.png", {"start": at(0)}, 400),
        ("/waveform/sim/source.png", {"start": at(0), "end": at(10), "size": "big"}, 400),
        ("/waveform/sim/source.png", {"start": at(0), "end": at(10), "size": "99999x9"}, 400),
        ("/waveform/sim/source.png", {"start": at(0), "end": at(10), "size": "0x10"}, 400),
        ("/waveform/sim/source.png", {"start": at(0), "end": at(3 * 3600)}, 400),
        ("/waveform/sim/source.png", {"start": at(10), "end": at(0)}, 400),
        ("/waveform/sim/source.png", {"start": at(21), "end": at(25)}, 406),
        ("/waveform/sim/720p.png", {"start": at(0), "end": at(10)}, 404),
        ("/spans/sim/source.json", {"start": "x"}, 400),
        ("/spans/nobody/source.json", {}, 404),
    ],
)
async def test_bad_requests_are_answered_in_one_line(
    client: TestClient, path: str, params: dict[str, str], status: int
) -> None:
    response = await client.get(path, params=params)
    assert response.status == status
    text = await response.text()
    assert text.count("\n") == 1 and text.strip()


async def test_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    for path in ("/frame/{channel}/{quality}.png", "/waveform/{channel}/{quality}.png"):
        parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert all(p.get("description") for p in parameters.values())
        assert {"400", "404", "406"} <= set(paths[path]["get"]["responses"])
    assert "size" in {
        p["name"] for p in paths["/waveform/{channel}/{quality}.png"]["get"]["parameters"]
    }
    assert "/spans/{channel}/{quality}.json" in paths and "/" in paths and "/editor/" in paths


async def test_an_ffmpeg_past_its_deadline_is_killed() -> None:
    with pytest.raises(stills.ImageFailed, match="longer than"):
        await stills.run_ffmpeg(["-re", "-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"], 0.5)
