"""End to end: real restreamers and backfillers on real sockets, one base directory each."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from streamvault.backfiller.follow import QUICK
from streamvault.backfiller.peers import PeerDiscovery
from streamvault.backfiller.service import Backfiller, PassResult, Settings
from streamvault.clock import FakeClock, SystemClock
from streamvault.restreamer.app import create_app
from streamvault.restreamer.feed import FEED
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment
from tests.helpers import eventually, read_file, write_file

from .conftest import NOW, Serve, at, closed_port_url, peer_app, tree, write

QUALITIES = ("source", "480p")


def node_store(tmp_path: Path, name: str) -> SegmentStore:
    return SegmentStore(str(tmp_path / name))


def backfiller(
    store: SegmentStore,
    peers: list[str],
    session: aiohttp.ClientSession,
    clock: FakeClock | None = None,
    **settings: object,
) -> Backfiller:
    options: dict[str, object] = {"channels": ("ch",), "qualities": QUALITIES, "start": 48.0}
    options.update(settings)
    return Backfiller(
        store,
        Settings(**options),  # type: ignore[arg-type]
        PeerDiscovery(peers),
        session,
        clock or FakeClock(NOW),
    )


def visible(store: SegmentStore) -> dict[str, bytes | list[str]]:
    """What a user of a node sees: every listing (with tombstones) and every listed file."""
    seen: dict[str, bytes | list[str]] = {}
    for quality in store.qualities("ch"):
        for hour in store.hours("ch", quality):
            names = store.segment_names("ch", quality, hour, tombstones=True)
            seen[f"{quality}/{hour}"] = names
            for segment in store.segments("ch", quality, hour).segments:
                with open(store.segment_path(segment), "rb") as f:
                    seen[segment.path] = f.read()
    return seen


def count_passes(node: Backfiller) -> list[PassResult]:
    """The results of the node's passes, in order, as they end (each a point where the node
    is done with what it listed and waits on the fake clock for the next one)."""
    results: list[PassResult] = []
    run_pass = node.run_pass

    async def counted(full: bool | None = None) -> PassResult:
        result = await run_pass(full)
        results.append(result)
        return result

    node.run_pass = counted  # type: ignore[method-assign]
    return results


async def test_three_nodes_with_different_holes_converge(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    stores = [node_store(tmp_path, name) for name in "abc"]
    every: list[Segment] = []
    # two hours of 2-second segments in two qualities; each node misses a different third
    for i in range(120):
        start = at(50) + timedelta(seconds=2 * i)  # 10:50 to 10:54 ... crosses no hour
        if i >= 60:
            start += timedelta(minutes=30)  # 11:20 onwards: a second hour
        for quality in QUALITIES:
            for n, store in enumerate(stores):
                if i % 3 != n:
                    every.append(write(store, start, quality))
    hidden = every[0]  # held by b and c only
    stores[0].write_tombstone(hidden)  # a tombstone on a: it must end hidden everywhere
    urls = [await serve(create_app(store.base_dir)) for store in stores]
    nodes = [
        backfiller(store, [u for u in urls if u != url], session)
        for store, url in zip(stores, urls, strict=True)
    ]
    results = await asyncio.gather(*(node.run_pass() for node in nodes))
    assert all(r.ok and r.failed == 0 for r in results)
    # each node lacked a third: 120 * 2 copies in all, but a never copies the hidden one
    assert sum(r.copied for r in results) == 120 * len(QUALITIES) - 1
    views = [visible(store) for store in stores]
    assert views[0] == views[1] == views[2]
    assert len(views[0]) == 120 * 2 - 1 + 4  # 239 visible segments, 2 hours x 2 listings
    # the hidden segment was never copied to a; b and c keep their bytes, hidden
    assert not await asyncio.to_thread(os.path.exists, stores[0].segment_path(hidden))
    assert await asyncio.to_thread(os.path.exists, stores[1].segment_path(hidden))
    for store in stores:
        names = store.segment_names("ch", "source", hidden.hour)
        assert hidden.name not in names
        assert len(names) + 1 == 60
    # a second round finds nothing to do
    again = await asyncio.gather(*(node.run_pass() for node in nodes))
    assert [r.planned for r in again] == [0, 0, 0]


async def test_a_peer_with_a_corrupted_file_on_disk(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good, bad, mine = (node_store(tmp_path, name) for name in ("good", "bad", "mine"))
    segment = write(good, at(1))
    write(bad, at(1))
    rotten = await read_file(bad.segment_path(segment))
    await write_file(bad.segment_path(segment), b"X" + rotten[1:])  # bit rot under a final name
    bad_url, good_url = (
        await serve(create_app(bad.base_dir)),
        await serve(create_app(good.base_dir)),
    )
    node = backfiller(mine, [bad_url, good_url], session)
    result = await node.run_pass()
    assert result.mismatches == 1
    assert (result.copied, result.failed) == (1, 0)
    assert tree(mine) == tree(good)


async def test_the_change_feed_brings_new_segments_within_seconds(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    a, b = node_store(tmp_path, "a"), node_store(tmp_path, "b")
    clock = FakeClock(NOW)
    app = create_app(a.base_dir, clock=clock)  # its feed scans and long-polls on the fake clock
    url = await serve(app)
    # passes every 1000 fake seconds: only the feed can bring anything in this test
    # an hour of two segments: a tombstone hides half of it, past the default valve
    node = backfiller(
        b, [url], session, clock, interval=1000.0, recent_cutoff=60.0, max_tombstone_share=1.0
    )
    passes = count_passes(node)
    task = asyncio.create_task(node.run())
    try:
        await eventually(lambda: (url, "ch", "source") in node.feed_cursors, "a feed cursor")
        for store in (a, b):  # b's downloader is at work (and got what a got)
            write(store, NOW - timedelta(seconds=4), data=b"recorded")
        await eventually(lambda: len(passes) == 1, "the first pass")  # the next is 1000 s away
        old = write(a, NOW - timedelta(seconds=120))
        young = write(a, NOW - timedelta(seconds=10))
        await app[FEED].scan()  # the peer's next look at its disk
        await eventually(lambda: os.path.exists(b.segment_path(old)), "the old segment copied")
        # within the scan: no time passed, so neither a pass nor a long-poll timeout brought it
        assert clock.monotonic() == 0
        # the young one is left to the local downloader until it is 60 s old: announced,
        # put off (by the fake clock), not copied
        await eventually(lambda: young.path in node.followers._deferred, "the young one put off")
        assert not await asyncio.to_thread(os.path.exists, b.segment_path(young))
        await clock.advance(49)
        assert not await asyncio.to_thread(os.path.exists, b.segment_path(young))
        await clock.advance(2)
        await eventually(lambda: os.path.exists(b.segment_path(young)), "the young one copied")
        # a tombstone travels the same way
        a.write_tombstone(old)
        await app[FEED].scan()
        await eventually(
            lambda: old.name not in b.segment_names("ch", "source", old.hour), "the tombstone"
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert tree(a) == tree(b)


async def test_a_peer_without_a_feed_is_polled(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = node_store(tmp_path, "a"), node_store(tmp_path, "b")
    clock = FakeClock(NOW)
    url = await serve(peer_app(a))  # like a wubloader node: /changes answers 404
    node = backfiller(b, [url], session, clock, interval=10.0)
    passes = count_passes(node)
    task = asyncio.create_task(node.run())
    try:
        with caplog.at_level(logging.INFO, logger="streamvault.backfiller"):
            await eventually(
                lambda: "offers no change feed" in caplog.text, "the follower finding no feed"
            )
        await eventually(lambda: len(passes) == 1, "the first pass")
        segment = write(a, NOW - timedelta(seconds=120))
        await clock.advance(9.9)
        assert not await asyncio.to_thread(
            os.path.exists, b.segment_path(segment)
        )  # no feed: nothing until a pass
        await clock.advance(0.1)
        await eventually(lambda: len(passes) == 2, "the second pass")
        assert passes[1].copied == 1
        assert await asyncio.to_thread(os.path.exists, b.segment_path(segment))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


Run = Callable[..., Awaitable[tuple[int, str]]]


async def run_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamvault", "backfill", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_once_exit_codes(tmp_path: Path, serve: Serve) -> None:
    peer, mine = node_store(tmp_path, "peer"), node_store(tmp_path, "mine")
    now = SystemClock().now()
    for i in range(5):
        write(peer, now - timedelta(minutes=10, seconds=2 * i))
    url = await serve(create_app(peer.base_dir))
    common = ["--base-dir", mine.base_dir, "--channel", "ch", "--once", "--start", "2"]

    code, output = await run_cli(*common, "--node", url)
    assert code == 0, output
    assert "5 copied" in output
    assert tree(mine) == tree(peer)

    down = closed_port_url()
    code, output = await run_cli(*common, "--node", url, "--node", down)
    assert code == 1, output
    assert f"peer {down} failed" in output

    code, output = await run_cli("--base-dir", mine.base_dir, "--channel", "ch", "--once")
    assert code == 2
    assert "--node" in output


async def test_a_restarted_feed_makes_a_pass_check_the_recent_hours(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    a, b = node_store(tmp_path, "a"), node_store(tmp_path, "b")
    app = peer_app(a)
    instance = {"id": "first"}
    restarted = asyncio.Event()
    polls: list[tuple[str, str]] = []

    async def changes(request: web.Request) -> web.Response:
        if "cursor" in request.query:
            polls.append((request.match_info["quality"], instance["id"]))
            await restarted.wait()  # a long-poll with nothing to tell, until the "restart"
        return web.json_response(
            {"cursor": 7, "instance": instance["id"], "reset": False, "changes": []}
        )

    app.router.add_get("/changes/{channel}/{quality}", changes)
    url = await serve(app)
    node = backfiller(b, [url], session, FakeClock(NOW), interval=1000.0)
    passes = count_passes(node)
    task = asyncio.create_task(node.run())
    try:
        await eventually(
            lambda: len(passes) == 1 and ("source", "first") in polls, "a first pass and poll"
        )
        segment = write(a, NOW - timedelta(seconds=120))  # missed: the feed "restarted"
        assert not await asyncio.to_thread(os.path.exists, b.segment_path(segment))
        instance["id"] = "second"
        restarted.set()
        await eventually(lambda: len(passes) == 2, "a pass asked for by the restarted feed")
        assert passes[1].copied == 1
        assert await asyncio.to_thread(os.path.exists, b.segment_path(segment))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_sigterm_mid_copy_leaves_no_temp_file(tmp_path: Path, serve: Serve) -> None:
    peer, mine = node_store(tmp_path, "peer"), node_store(tmp_path, "mine")
    segment = write(peer, SystemClock().now() - timedelta(minutes=10))
    started = asyncio.Event()
    app = peer_app(peer, stall=started)
    url = await serve(app)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamvault", "backfill", "--base-dir", mine.base_dir,
        "--channel", "ch", "--node", url, "--start", "2",
    )  # fmt: skip
    await asyncio.wait_for(started.wait(), 20)
    hour_dir = mine.hour_dir("ch", "source", segment.hour)
    assert [n for n in os.listdir(hour_dir) if "-temp-" in n]  # a copy is in progress
    process.terminate()
    assert await asyncio.wait_for(process.wait(), 20) == 0
    assert os.listdir(hour_dir) == []


async def test_a_peer_that_answers_long_polls_at_once_is_asked_once_per_pause(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    """A feed that never waits (empty answers at once) is asked again only after the pause,
    in the node's clock time: with the fake clock standing still, the follower waits."""
    a, b = node_store(tmp_path, "a"), node_store(tmp_path, "b")
    app = peer_app(a)
    polls: list[str] = []

    async def changes(request: web.Request) -> web.Response:
        if "cursor" in request.query:
            polls.append(request.match_info["quality"])
        return web.json_response({"cursor": 7, "instance": "x", "reset": False, "changes": []})

    app.router.add_get("/changes/{channel}/{quality}", changes)
    url = await serve(app)
    clock = FakeClock(NOW)
    node = backfiller(b, [url], session, clock, interval=1000.0, qualities=("source",))
    task = asyncio.create_task(node.run())
    try:
        # the first request takes the cursor; the long-poll with it, empty at once, marks
        # the peer quick: the follower pauses QUICK seconds of the clock before the next
        pause = clock.monotonic() + QUICK
        await eventually(lambda: pause in clock.deadlines, "the follower pausing on the clock")
        assert polls == ["source"]
        await clock.advance(QUICK)
        await eventually(lambda: len(polls) == 2, "a poll after the pause")
        await eventually(lambda: pause + QUICK in clock.deadlines, "the next pause")
        assert len(polls) == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
