"""What a store may hold besides segments — symlinks, unreadable directories and files, empty
files — never lets a route serve a file outside it, answer 500 or stop the server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from streamvault.clock import FakeClock
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import hash_bytes
from tests.helpers import METRICS_PORT, NODE_PORT, Child, closed_port, write_file

from .conftest import Archive, build_archive, serve
from .hostile_client import restreamer, run_schemathesis, start_restreamer
from .media import start_of

HOUR3, HOUR4 = "2026-11-28T03", "2026-11-28T04"
RANGE = "start=2026-11-28T03:59:30&end=2026-11-28T04:00:10"
SECRET = b"root:x:0:0:secret\n"


@pytest.fixture
def fresh(tmp_path: Path, segment_datas: list[bytes]) -> Archive:
    """A store of its own (these tests change it)."""
    return build_archive(str(tmp_path / "store"), segment_datas)


@pytest.fixture
async def fresh_client(fresh: Archive, clock: object, seen: list[str]) -> AsyncIterator[TestClient]:
    client = await serve(fresh.base, clock, seen)  # type: ignore[arg-type]
    yield client
    await client.close()


def outside_file(tmp_path: Path) -> str:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(SECRET)
    return str(path)


async def test_a_coverage_map_symlink_is_not_followed(
    fresh: Archive, fresh_client: TestClient, tmp_path: Path
) -> None:
    maps = os.path.join(fresh.base, "coverage-maps")
    os.makedirs(maps)
    os.symlink(outside_file(tmp_path), os.path.join(maps, "test_source_coverage.html"))
    await write_file(os.path.join(maps, "test_480p_coverage.html"), b"<html>map</html>")
    response = await fresh_client.get("/coverage-maps/test_source_coverage.html")
    assert response.status == 404
    assert SECRET not in await response.read()
    assert "test_source" not in await response.text()
    response = await fresh_client.get("/coverage-maps/test_480p_coverage.html")
    assert response.status == 200 and await response.read() == b"<html>map</html>"


async def test_an_hour_swapped_for_a_symlink_after_being_served_is_not_served(
    fresh: Archive, fresh_client: TestClient, tmp_path: Path
) -> None:
    segment = fresh.source[0]
    url = f"/segments/test/source/{segment.hour}/{segment.name}"
    response = await fresh_client.get(url)
    assert response.status == 200 and await response.read() == fresh.datas[0]
    # the hour directory is replaced by a symlink to a directory outside holding that name
    hour_dir = os.path.join(fresh.base, "test", "source", segment.hour)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / segment.name).write_bytes(SECRET)
    shutil.move(hour_dir, str(tmp_path / "moved"))
    os.symlink(str(elsewhere), hour_dir)
    response = await fresh_client.get(url)
    assert response.status == 404
    assert SECRET not in await response.read()
    names = await (await fresh_client.get(f"/files/test/source/{segment.hour}")).json()
    assert names == []


async def test_a_symlinked_file_hides_that_file_only(
    fresh: Archive, fresh_client: TestClient, tmp_path: Path
) -> None:
    name = "59:59.000000-2.0-full-" + hash_bytes(SECRET) + ".ts"
    os.symlink(outside_file(tmp_path), os.path.join(fresh.base, "test", "source", HOUR3, name))
    listed = await (await fresh_client.get(f"/files/test/source/{HOUR3}")).json()
    assert name not in listed and fresh.source[0].name in listed
    for target in (f"/playlist/test.m3u8?{RANGE}", f"/playlist/test/source.m3u8?{RANGE}"):
        response = await fresh_client.get(target)
        assert response.status == 200, target
        assert name not in await response.text()
    response = await fresh_client.get(f"/cut/test/source.ts?{RANGE}&type=rough&allow_holes=true")
    assert response.status == 200
    body = await response.read()
    assert SECRET not in body and body.startswith(fresh.datas[0][:188])
    response = await fresh_client.get(f"/segments/test/source/{HOUR3}/{name}")
    assert response.status == 404 and name not in await response.text()


@pytest.mark.parametrize("header", ["bytes=-1", "bytes=0-", "bytes=0-0", "bytes=-0"])
async def test_any_range_of_an_empty_file_is_416(
    fresh: Archive, fresh_client: TestClient, header: str
) -> None:
    store = SegmentStore(fresh.base)
    empty = store.write_segment("test", "source", start_of(30), 2.0, "suspect", b"")
    response = await fresh_client.get(
        f"/segments/test/source/{empty.hour}/{empty.name}", headers={"Range": header}
    )
    assert response.status == 416
    assert response.headers["Content-Range"] == "bytes */0"
    whole = await fresh_client.get(f"/segments/test/source/{empty.hour}/{empty.name}")
    assert whole.status == 200 and await whole.read() == b""


# --- unreadable entries, with the server really denied access --------------------------------

#: Root in these tests, but without the capabilities that let root read anything: a directory
#: or file owned by another user with mode 0700 / 0600 is then truly unreadable, as a
#: root-owned lost+found is to an unprivileged server.
UNPRIVILEGED = [
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
]
OTHER_UID = 54321


def _lock(path: str, mode: int) -> None:
    os.chown(path, OTHER_UID, OTHER_UID)
    os.chmod(path, mode)


@pytest.fixture
def hazardous_store(segment_datas: list[bytes]) -> Iterator[Archive]:
    """A store with a locked lost+found, a locked quality, a locked hour and a locked file."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.fail("these tests need root and setpriv (util-linux), as .ci/run provides")
    base = tempfile.mkdtemp(prefix="sv-hazard-")
    os.chmod(base, 0o755)
    archive = build_archive(base, segment_datas)
    os.makedirs(os.path.join(base, "lost+found"))
    os.makedirs(os.path.join(base, "test", "locked", HOUR3))
    _lock(os.path.join(base, "lost+found"), 0o700)
    _lock(os.path.join(base, "test", "locked"), 0o700)
    _lock(os.path.join(base, "holes", "source", HOUR4), 0o700)
    locked_file = archive.source[1]
    _lock(os.path.join(base, "test", "source", locked_file.hour, locked_file.name), 0o600)
    try:
        yield archive
    finally:
        shutil.rmtree(base)


async def test_unreadable_entries_are_skipped_with_one_warning(hazardous_store: Archive) -> None:
    url, child = await start_restreamer(hazardous_store.base, prefix=UNPRIVILEGED)
    locked_file = hazardous_store.source[1]
    try:
        async with aiohttp.ClientSession() as session:
            checks = {
                "/files": 200,
                "/files/lost+found": 200,
                "/files/test": 200,
                "/files/test/locked": 200,
                f"/files/test/locked/{HOUR3}": 200,
                f"/files/holes/source/{HOUR4}": 200,
                f"/playlist/test.m3u8?{RANGE}": 200,
                f"/playlist/holes/source.m3u8?{RANGE}&allow_holes=true": 200,
                f"/coverage/holes/source.json?{RANGE}": 200,
                "/playlist/lost+found.m3u8": 404,
                f"/playlist/test/locked.m3u8?{RANGE}": 404,
                f"/segments/test/source/{locked_file.hour}/{locked_file.name}": 404,
                "/changes/lost+found/source?timeout=0": 200,
            }
            for _ in range(3):  # asked again and again: still one warning per entry
                for target, status in checks.items():
                    async with session.get(url + target) as response:
                        assert response.status == status, (target, await response.text())
            async with session.get(url + "/files/test") as response:
                assert sorted(await response.json()) == ["480p", "locked", "source"]
            async with session.get(url + "/metrics") as response:
                metrics = await response.text()
            assert "streamvault_restreamer_internal_errors_total 0.0" in metrics
    finally:
        await child.stop()
    log = child.output()
    assert "Traceback" not in log, log
    warnings = [line for line in log.splitlines() if "WARNING" in line and "skipping" in line]
    for entry in ("lost+found", "test/locked", f"holes/source/{HOUR4}"):
        assert sum(f"/{entry}: " in line for line in warnings) == 1, (entry, warnings)


async def test_node_and_download_start_with_an_unreadable_lost_and_found(
    hazardous_store: Archive,
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"  # Twitch is not reachable: it need not be
    commands = {
        "node": (["node", "--base-dir", hazardous_store.base, "--host", "127.0.0.1",
                  "--port", "0", "--no-backfiller", "--channel", "x",
                  "--twitch-gql-url", dead, "--twitch-usher-url", dead], NODE_PORT, "/files"),
        "download": (["download", "--base-dir", hazardous_store.base, "--metrics-port", "0",
                      "--twitch-gql-url", dead, "--twitch-usher-url", dead, "x"],
                     METRICS_PORT, "/metrics"),
    }  # fmt: skip
    for name, (args, port_line, path) in commands.items():
        child = await Child.start(*args, prefix=UNPRIVILEGED)
        try:
            url = f"http://127.0.0.1:{await child.port(port_line)}"
            async with aiohttp.ClientSession() as session, session.get(url + path) as response:
                assert response.status == 200, (name, await response.text())
            await child.said(rb"lost\+found: Permission denied")  # the download scans after
        finally:
            await child.stop()
        log = child.output()
        assert "Traceback" not in log and "PermissionError" not in log, (name, log)
        assert "lost+found: Permission denied" in log, (name, log)


async def _long_poll(client: TestClient, clock: FakeClock, path: str) -> aiohttp.ClientResponse:
    """A long-poll's answer: the feed waits in the app's (fake) clock time, so that time is
    moved on until the server lets the request go."""
    request = asyncio.ensure_future(client.get(path))
    while not request.done():
        await clock.advance(0.01)
        await asyncio.sleep(0.001)  # the answer travels on a real socket
    return await request


async def test_the_change_feed_keeps_nothing_per_name_a_client_asks_about(
    fresh_client: TestClient, clock: FakeClock
) -> None:
    from streamvault.restreamer.feed import FEED

    feed = fresh_client.app[FEED]
    cursor = (await (await fresh_client.get("/changes/test/source")).json())["cursor"]
    for i in range(200):  # long-polls on names the store does not hold: answered, not kept
        path = f"/changes/nothing{i}/q{i}?cursor={cursor}&timeout=0.01"
        response = await _long_poll(fresh_client, clock, path)
        assert response.status == 200 and (await response.json())["changes"] == []
    assert len(feed._wakeups) == 0
    path = f"/changes/test/source?cursor={cursor}&timeout=0.01"
    response = await _long_poll(fresh_client, clock, path)
    assert response.status == 200 and len(feed._wakeups) <= 1  # a held stream: one, at most


def _plant_symlinks(base: str, outside: str) -> None:
    name = "59:58.000000-2.0-full-" + hash_bytes(SECRET) + ".ts"
    os.symlink(outside, os.path.join(base, "test", "source", HOUR3, name))
    os.symlink(os.path.dirname(outside), os.path.join(base, "linked"))
    os.symlink(os.path.dirname(outside), os.path.join(base, "test", "linkedq"))
    os.makedirs(os.path.join(base, "coverage-maps"), exist_ok=True)
    os.symlink(outside, os.path.join(base, "coverage-maps", "test_source_coverage.png"))


async def _keep_recording(base: str, stop: asyncio.Event) -> None:
    """New segments in every readable stream while schemathesis runs: a live store, whose change
    feed answers long-polls with news within a scan (not after their full timeout)."""
    store = SegmentStore(base)
    streams = [("test", "source"), ("test", "480p"), ("holes", "source"), ("live", "source")]
    for i in range(100_000):
        channel, quality = streams[i % len(streams)]
        start = start_of(3600 + i)  # an hour after the others: the newest hour directory
        await asyncio.to_thread(
            store.write_segment, channel, quality, start, 2.0, "full", b"%d" % i
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)
        if stop.is_set():
            return


async def test_schemathesis_over_a_hazardous_store_finds_no_5xx_and_no_schema_violation(
    hazardous_store: Archive, tmp_path: Path
) -> None:
    _plant_symlinks(hazardous_store.base, outside_file(tmp_path))
    stop = asyncio.Event()
    async with restreamer(hazardous_store.base, prefix=UNPRIVILEGED) as (url, _process):
        recording = asyncio.create_task(_keep_recording(hazardous_store.base, stop))
        try:
            returncode, report = await run_schemathesis(
                url, str(tmp_path), "--max-examples", "8", "--seed", "2", "--request-timeout", "70"
            )
        finally:
            stop.set()
            await recording
        async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
            metrics = await response.text()
    assert returncode == 0, report[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    assert selected is not None and selected[1] == selected[2], report[-3000:]
    assert "streamvault_restreamer_internal_errors_total 0.0" in metrics
    assert SECRET.decode() not in report


async def test_extra_files_and_listings_follow_no_symlink(
    fresh: Archive, fresh_client: TestClient, tmp_path: Path
) -> None:
    secret = outside_file(tmp_path)
    emotes = os.path.join(fresh.base, "emotes")
    os.makedirs(os.path.join(emotes, "real"))
    await write_file(os.path.join(emotes, "real", "a.png"), b"png")
    os.symlink(os.path.dirname(secret), os.path.join(emotes, "linked"))  # a directory link
    os.symlink(os.path.dirname(secret), os.path.join(fresh.base, "escape"))
    assert await (await fresh_client.get("/extras/emotes")).json() == ["real/a.png"]
    assert await (await fresh_client.get("/extras/escape")).json() == []
    for target in ("/segments/emotes/linked/passwd", "/segments/escape/passwd"):
        response = await fresh_client.get(target)
        assert response.status == 404, target
        assert SECRET not in await response.read() and "passwd" not in await response.text()
    response = await fresh_client.get("/segments/emotes/real/a.png")
    assert response.status == 200 and await response.read() == b"png"
