"""Mixed clusters, end to end: a streamvault node (real restreamer and backfiller) and a peer
that behaves as wubloader nodes do (:mod:`tests.wubpeer`), replicating in both directions."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path

import aiohttp
import pytest

from streamvault.backfiller.progress import UNUSABLE
from streamvault.backfiller.service import Backfiller, PassResult
from streamvault.coverage.maps import Node
from streamvault.coverage.scan import CoverageScanner
from streamvault.coverage.service import CoverageService
from streamvault.restreamer.app import create_app
from streamvault.store.chat_naming import batch_name_for
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment, tombstone_name
from tests import wubpeer
from tests.helpers import read_file, write_file

from .conftest import NOW, Serve, at, tree, write
from .test_cluster import backfiller

QUALITIES = ("source", "chat")


class Pair:
    """A streamvault node and a wubloader-like node, each serving its base directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.sv = SegmentStore(str(tmp_path / "streamvault"))
        self.wub = SegmentStore(str(tmp_path / "wubloader"))
        os.makedirs(self.sv.base_dir)
        os.makedirs(self.wub.base_dir)
        self.sv_url = self.wub_url = ""
        self.gone: set[str] = set()
        self.node: Backfiller | None = None

    async def start(self, serve: Serve) -> None:
        self.sv_url = await serve(create_app(self.sv.base_dir))
        self.wub_url = await serve(wubpeer.restreamer_app(self.wub.base_dir, self.gone))

    async def sv_pass(self, session: aiohttp.ClientSession) -> PassResult:
        if self.node is None:  # one backfiller, as one running node has
            # hours of a handful of segments: a tombstone is more than the valve's default 10 %
            self.node = backfiller(
                self.sv, [self.wub_url], session, qualities=QUALITIES, extras=("emotes",),
                max_tombstone_share=1.0,
            )  # fmt: skip
        return await self.node.run_pass(full=True)

    async def wub_pass(self, session: aiohttp.ClientSession) -> wubpeer.PassLog:
        return await wubpeer.backfill_pass(
            session, self.wub.base_dir, self.sv_url, ["ch"], list(QUALITIES), ["emotes"], NOW
        )


async def listed(session: aiohttp.ClientSession, url: str, hour: str) -> list[str]:
    async with session.get(f"{url}/files/ch/source/{hour}") as response:
        assert response.status == 200
        names = await response.json()
    assert isinstance(names, list)
    return sorted(names)


def hidden_here(directory: str) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tombstone"))


async def test_a_tombstone_made_on_either_side_hides_the_segment_on_both(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    pair = Pair(tmp_path)
    both = [at(i / 30) for i in range(4)]  # four segments both nodes hold, byte for byte
    segments: list[Segment] = []
    for start in both:
        data = f"segment at {start.isoformat()}".encode() * 40
        segments.append(write(pair.sv, start, data=data))
        write(pair.wub, start, data=data)
    only_wub = write(pair.wub, at(1))  # and one only the wubloader node holds
    by_wub, by_sv, by_old_sv = segments[0], segments[1], segments[2]
    wub_dir = os.path.join(pair.wub.base_dir, "ch", "source", by_wub.hour)
    sv_dir = os.path.join(pair.sv.base_dir, "ch", "source", by_wub.hour)
    # hidden on the wubloader node, in its form (an empty X.tombstone)
    for hidden in (by_wub, only_wub):
        await write_file(os.path.join(wub_dir, tombstone_name(hidden.name)))
    pair.sv.write_tombstone(by_sv)  # hidden here
    await write_file(os.path.join(sv_dir, by_old_sv.name + ".tombstone"))  # by an old version
    assert pair.sv.upgrade_tombstones() == 1  # start-up
    await pair.start(serve)

    result = await pair.sv_pass(session)
    assert result.ok and (result.tombstones, result.copied, result.failed) == (2, 0, 0)
    log = await pair.wub_pass(session)
    assert sorted(log.tombstones) == sorted(
        f"ch/source/{by_sv.hour}/{tombstone_name(s.name)}" for s in (by_sv, by_old_sv)
    )
    assert log.copied == []

    kept = [segments[3].name]
    assert await listed(session, pair.sv_url, by_wub.hour) == kept
    assert await listed(session, pair.wub_url, by_wub.hour) == kept
    expected = sorted(tombstone_name(s.name) for s in (by_wub, by_sv, by_old_sv, only_wub))
    assert hidden_here(sv_dir) == hidden_here(wub_dir) == expected
    for hidden in (by_wub, by_sv, by_old_sv):
        url = f"{pair.sv_url}/segments/ch/source/{hidden.hour}/{hidden.name}"
        async with session.get(url) as response:
            assert response.status == 404, hidden.name
    assert not await asyncio.to_thread(
        os.path.exists, pair.sv.segment_path(only_wub)
    )  # never copied

    # a fresh wubloader node that backfills from the streamvault node never gets them either
    fresh = tmp_path / "fresh"
    log = await wubpeer.backfill_pass(
        session, str(fresh), pair.sv_url, ["ch"], ["source"], ["emotes"], NOW
    )
    assert log.copied == [segments[3].path]
    assert hidden_here(str(fresh / "ch" / "source" / by_wub.hour)) == expected
    # and a second pass each way has nothing left to do
    again = await pair.sv_pass(session)
    assert again.ok and (again.planned, again.tombstones) == (0, 0)
    log = await pair.wub_pass(session)
    assert (log.copied, log.tombstones) == ([], [])


def chat_batch(store: SegmentStore, minute: float, text: str) -> str:
    content = "\n".join(
        f'{{"command":"PRIVMSG","params":["#ch","{text} {i}"],"time":{i}}}' for i in range(3)
    ).encode()
    start = at(minute)
    path = os.path.join(store.base_dir, "ch", "chat", start.strftime("%Y-%m-%dT%H"))
    os.makedirs(path, exist_ok=True)
    name = batch_name_for(start, content)
    with open(os.path.join(path, name), "wb") as f:
        f.write(content)
    return name


def extra(store: SegmentStore, path: str, data: bytes) -> None:
    target = os.path.join(store.base_dir, "emotes", path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)


def part(store: SegmentStore, folder: str) -> dict[str, bytes]:
    return {path: data for path, data in tree(store).items() if path.startswith(folder)}


async def test_extras_and_chat_batches_arrive_byte_identical_both_ways(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    pair = Pair(tmp_path)
    chat_batch(pair.wub, 1, "from wubloader")
    chat_batch(pair.sv, 2, "from streamvault")
    merged_away = chat_batch(pair.wub, 3, "merged away")
    pair.gone.add(merged_away)  # listed by the peer, but 404 when fetched
    extra(pair.wub, "25/dark-1.0", b"\x89PNG emote 25")
    extra(pair.wub, "25/light-2.0", b"\x89PNG emote 25, light")
    extra(pair.sv, "30/dark-1.0", b"\x89PNG emote 30")
    os.makedirs(os.path.join(pair.wub.base_dir, "emotes", ".cache"))
    extra(pair.wub, ".cache/x", b"a hidden file wubloader lists")
    await pair.start(serve)

    result = await pair.sv_pass(session)
    assert result.ok and result.failed == 0, result.summary()
    assert (result.copied, result.extras_copied) == (1, 2)  # one batch, two emotes
    assert result.gone == 1  # the merged-away batch: normal, not a failure
    log = await pair.wub_pass(session)  # it asks /extras/emotes: answered, no error
    assert len(log.copied) == 1 and log.extras == ["emotes/30/dark-1.0"]
    assert log.ignored_missing == [] and log.mismatches == []

    os.remove(os.path.join(pair.wub.base_dir, "emotes", ".cache", "x"))
    wub_files = part(pair.wub, "ch/chat/") | part(pair.wub, "emotes/")
    del wub_files[f"ch/chat/{at(3):%Y-%m-%dT%H}/{merged_away}"]  # it was never served
    assert part(pair.sv, "ch/chat/") | part(pair.sv, "emotes/") == wub_files
    assert len(part(pair.sv, "ch/chat/")) == 2 and len(part(pair.sv, "emotes/")) == 3
    # nothing half-written is left behind
    assert not [p for p in tree(pair.sv) if ".tmp" in p or "temp" in p]


async def test_unsafe_extras_paths_and_unusable_names_are_logged_once_and_counted(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    pair = Pair(tmp_path)
    segment = write(pair.wub, at(1))
    hour_dir = os.path.join(pair.wub.base_dir, "ch", "source", segment.hour)
    for junk in ("notes.ts", "2-full.ts"):
        await write_file(os.path.join(hour_dir, junk))
    os.makedirs(os.path.join(pair.wub.base_dir, "emotes", ".git"))
    extra(pair.wub, ".git/config", b"hidden")
    await pair.start(serve)
    before = UNUSABLE.labels(pair.wub_url, "ch", "source")._value.get()
    with caplog.at_level(logging.WARNING, logger="streamvault.backfiller"):
        for _ in range(2):
            result = await pair.sv_pass(session)
            assert result.ok
    warnings = [r.getMessage() for r in caplog.records if "cannot use" in r.getMessage()]
    assert len(warnings) == 3, warnings  # two names and one path, each once
    assert any("notes.ts" in w for w in warnings) and any(".git/config" in w for w in warnings)
    assert UNUSABLE.labels(pair.wub_url, "ch", "source")._value.get() - before == 2
    assert await asyncio.to_thread(os.path.exists, pair.sv.segment_path(segment))
    assert not await asyncio.to_thread(
        os.path.exists, os.path.join(pair.sv.base_dir, "emotes", ".git")
    )


IMG = re.compile(r'<img src="([^"?]+)')


async def fetch_png(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as response:
        assert response.status == 200, url
        assert response.headers["Content-Type"] == "image/png", url
        return await response.read()


async def test_each_sides_page_reaches_the_other_sides_map(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    pair = Pair(tmp_path)
    for i in range(30):
        write(pair.sv, at(i / 30))
    await pair.start(serve)
    wub_png = b"\x89PNG\r\n\x1a\n the wubloader node's map"
    nodes = {"streamvault": pair.sv_url, "wubloader": pair.wub_url}
    page = wubpeer.write_coverage_page(pair.wub.base_dir, "ch", "source", nodes, wub_png)
    service = CoverageService(
        pair.sv,
        CoverageScanner(pair.sv, ["ch"], ["source"]),
        [Node(name, url) for name, url in nodes.items()],
    )
    service.run_pass()
    sv_png = await read_file(
        os.path.join(pair.sv.base_dir, "coverage-maps", "ch_source_coverage.png")
    )
    expected = [sv_png, wub_png]
    # our page, as served by our restreamer, and the wubloader node's page
    async with session.get(f"{pair.sv_url}/segments/coverage-maps/ch_source_coverage.html") as r:
        ours = await r.text()
    theirs = (await read_file(page)).decode()
    for html in (ours, theirs):
        sources = IMG.findall(html)
        assert len(sources) == 2
        assert [await fetch_png(session, src) for src in sources] == expected
