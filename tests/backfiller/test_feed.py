"""The restreamer's change feed, ``/changes/CHANNEL/QUALITY``, on a real socket."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from streamvault.clock import Clock, FakeClock
from streamvault.restreamer import feed
from streamvault.restreamer.feed import ChangeLog
from streamvault.restreamer.http import answer_middleware
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import tombstone_name
from tests.helpers import eventually

from .conftest import Serve, at, write

WRITER = """
import sys
from datetime import datetime
from streamvault.store.disk import SegmentStore
seg = SegmentStore(sys.argv[1]).write_segment(
    "ch", "source", datetime.fromisoformat(sys.argv[2]), 2.0, "full", b"from another process")
print(seg.name)
"""


Waiting = dict[str, int]


def feed_app(
    store: SegmentStore, waiting: Waiting | None = None, clock: Clock | None = None
) -> web.Application:
    """The feed alone (on ``clock``: its scans and long-polls keep that clock's time);
    ``waiting`` counts the long-polls (with a cursor) inside the handler, per quality, so a
    test knows when the server holds one."""
    counts: Waiting = {} if waiting is None else waiting

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        quality = request.match_info.get("quality", "")
        if "cursor" not in request.query:
            return await handler(request)
        counts[quality] = counts.get(quality, 0) + 1
        try:
            return await handler(request)
        finally:
            counts[quality] -= 1

    app = web.Application(middlewares=[answer_middleware, count])  # the restreamer's errors
    feed.setup(app, store, interval=0.05, clock=clock)
    return app


async def get(session: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    async with session.get(url, params=params) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_announces_a_segment_written_by_another_process(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    store = SegmentStore(str(tmp_path))
    existing = write(store, at(1))  # there before the server: not news
    waiting: Waiting = {}
    clock = FakeClock()
    app = feed_app(store, waiting, clock)
    base = await serve(app)
    url = f"{base}/changes/ch/source"
    status, first = await get(session, url)
    assert status == 200
    assert first["changes"] == [] and first["reset"] is False

    poll = asyncio.create_task(get(session, url, cursor=str(first["cursor"]), timeout="20"))
    await eventually(lambda: waiting.get("source") == 1, "the server holding the long-poll")
    assert await app[feed.FEED].scan() == 0  # a scan that finds nothing new...
    await get(session, f"{base}/changes/ch/480p")  # ...and a request after it, answered
    assert not poll.done() and waiting["source"] == 1  # a long-poll waits for news
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(tmp_path), at(2).isoformat(),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await writer.communicate()
    while not poll.done():  # scan after scan, in the feed's clock time
        await clock.advance(0.05)
        await asyncio.sleep(0.01)  # the scan runs in a thread, the answer on a real socket
    status, answer = await poll
    assert clock.monotonic() < 5  # woken by the news within scans, not by its 20 s timeout
    assert answer["changes"] == [{"hour": existing.hour, "name": out.decode().strip()}]
    assert answer["cursor"] > first["cursor"]
    assert answer["instance"] == first["instance"]

    # resuming from the new cursor: nothing more (timeout=0 answers at once)
    status, again = await get(session, url, cursor=str(answer["cursor"]), timeout="0")
    assert again["changes"] == []
    # resuming from the old cursor: the same change again
    status, replay = await get(session, url, cursor=str(first["cursor"]), timeout="0")
    assert replay["changes"] == answer["changes"]


async def test_announces_tombstones_and_new_hours_but_no_temp_files(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    store = SegmentStore(str(tmp_path))
    segment = write(store, at(1))
    base = await serve(feed_app(store))
    url = f"{base}/changes/ch/source"
    _, first = await get(session, url)

    temp = store.open_segment("ch", "source", at(3), 2.0)
    temp.write(b"half")
    store.write_tombstone(segment)
    later = write(store, at(61))  # the next hour directory
    seen: list[dict[str, str]] = []
    cursor = first["cursor"]
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        _, answer = await get(session, url, cursor=str(cursor), timeout="5")
        seen += answer["changes"]
        cursor = answer["cursor"]
    temp.discard()
    assert sorted(seen, key=lambda c: c["name"]) == sorted(
        [
            {"hour": segment.hour, "name": tombstone_name(segment.name)},
            {"hour": later.hour, "name": later.name},
        ],
        key=lambda c: c["name"],
    )
    assert later.hour != segment.hour


async def test_other_channels_do_not_wake_a_poll_and_bad_requests_are_refused(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    store = SegmentStore(str(tmp_path))
    write(store, at(0))  # ch/source is held (a poll for a stream not held wakes on any news)
    waiting: Waiting = {}
    base = await serve(feed_app(store, waiting))
    _, first = await get(session, f"{base}/changes/ch/source")
    source = asyncio.create_task(
        get(session, f"{base}/changes/ch/source", cursor=str(first["cursor"]), timeout="20")
    )
    await eventually(lambda: waiting.get("source") == 1, "the server holding the long-poll")
    write(store, at(1), quality="480p")
    _, low = await get(session, f"{base}/changes/ch/480p", cursor=str(first["cursor"]), timeout="5")
    assert len(low["changes"]) == 1
    # the 480p news has been announced, and the source long-poll is still waiting
    assert not source.done() and waiting["source"] == 1
    _, answer = await get(session, f"{base}/changes/ch/source", cursor=str(first["cursor"]),
                          timeout="0")  # fmt: skip
    assert answer["changes"] == []
    news = write(store, at(2))  # what wakes it is news of its own quality, and only that
    _, woken = await source
    assert woken["changes"] == [{"hour": news.hour, "name": news.name}]

    assert await get(session, f"{base}/changes/ch/source", cursor="abc") == (
        400,
        "cursor must be a number: 'abc'\n",
    )
    assert (await get(session, f"{base}/changes/ch/source", timeout="-1"))[0] == 400
    assert (await get(session, f"{base}/changes/ch/source", timeout="nan"))[0] == 400
    assert (await get(session, f"{base}/changes/.ch/source"))[0] == 403


async def test_a_cursor_from_a_restarted_server_asks_for_a_reset(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    store = SegmentStore(str(tmp_path))
    base = await serve(feed_app(store))
    _, answer = await get(session, f"{base}/changes/ch/source", cursor="999", timeout="5")
    assert answer["reset"] is True
    assert answer["cursor"] == 0


def test_change_log_keeps_a_bounded_history() -> None:
    log = ChangeLog(keep=3)
    log.add("ch", "source", "h", ["a", "b"])
    log.add("ch", "480p", "h", ["x"])
    events, cursor, reset = log.since("ch", "source", 0)
    assert [e[2] for e in events] == ["a", "b"] and cursor == 3 and not reset
    log.add("ch", "source", "h", ["c", "d"])
    events, cursor, reset = log.since("ch", "source", 0)
    assert reset and events == []  # "a" was dropped: the caller must check in full
    events, cursor, reset = log.since("ch", "source", 1)
    assert [e[2] for e in events] == ["b", "c", "d"] and not reset
    events, cursor, reset = log.since("ch", "source", 2, limit=1)
    assert [e[2] for e in events] == ["c"] and cursor == 4


async def test_an_odd_directory_does_not_stop_the_feed(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    store = SegmentStore(str(tmp_path))
    (tmp_path / "odd\\name" / "source" / "2026-01-01T10").mkdir(parents=True)
    base = await serve(feed_app(store))
    _, first = await get(session, f"{base}/changes/ch/source")
    segment = write(store, at(1))
    _, answer = await get(session, f"{base}/changes/ch/source", cursor=str(first["cursor"]),
                          timeout="5")  # fmt: skip
    assert answer["changes"] == [{"hour": segment.hour, "name": segment.name}]


async def test_a_long_poll_without_news_ends_when_the_clock_passes_its_timeout(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    store = SegmentStore(str(tmp_path))
    write(store, at(1))
    clock = FakeClock()
    base = await serve(feed_app(store, clock=clock))
    url = f"{base}/changes/ch/source"
    _, first = await get(session, url)
    poll = asyncio.create_task(get(session, url, cursor=str(first["cursor"]), timeout="30"))
    await eventually(lambda: 30.0 in clock.deadlines, "the long-poll waiting on the clock")
    await clock.advance(29.9)
    assert 30.0 in clock.deadlines  # still held
    await clock.advance(0.1)
    status, answer = await poll
    assert status == 200
    assert answer["changes"] == [] and answer["cursor"] == first["cursor"]


async def test_news_found_while_a_long_poll_is_being_set_up_answers_it_at_once(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan that finds news after the handler looked (nothing) but before it waits must
    still wake it: without that, the poll sleeps through its whole timeout."""
    store = SegmentStore(str(tmp_path))
    write(store, at(1))
    clock = FakeClock()
    app = feed_app(store, clock=clock)
    base = await serve(app)
    url = f"{base}/changes/ch/source"
    _, first = await get(session, url)
    looking, go_on = threading.Event(), threading.Event()
    real_is_real_dir = feed.is_real_dir

    def slow_is_real_dir(base_dir: str, parts: tuple[str, ...]) -> bool:
        looking.set()  # the handler found nothing and looks whether the stream is held
        go_on.wait(60)
        return real_is_real_dir(base_dir, parts)

    monkeypatch.setattr(feed, "is_real_dir", slow_is_real_dir)
    poll = asyncio.create_task(get(session, url, cursor=str(first["cursor"]), timeout="30"))
    assert await asyncio.to_thread(looking.wait, 60)
    news = write(store, at(2))
    assert await app[feed.FEED].scan() == 1  # announced while nobody waits yet
    go_on.set()
    # the fake clock stands still: only the news can answer it
    await eventually(poll.done, "the news answering the long-poll")
    _, answer = await poll
    assert answer["changes"] == [{"hour": news.hour, "name": news.name}]
