"""Progress lines and metrics, and the per-peer back-off."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import aiohttp
import pytest

from streamvault.backfiller.copy import MAX_WAIT, Copier, backoff_delay
from streamvault.backfiller.peers import peer_from_url
from streamvault.backfiller.progress import ETA, PENDING, Progress, format_line
from streamvault.clock import FakeClock
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment, hash_bytes
from tests.helpers import eventually, read_file

from .conftest import NOW, Serve, at, closed_port_url, peer_app, tree, write

PEER = peer_from_url("http://127.0.0.1:9")


def _segment() -> Segment:
    return Segment("ch", "source", at(1), 2.0, "full", hash_bytes(b"x"))


async def test_progress_line_has_count_bytes_rate_and_eta() -> None:
    clock = FakeClock(NOW)
    progress = Progress(clock, window=10.0)
    progress.plan(100)
    store_segment = _segment()
    for _ in range(10):
        await clock.advance(1)
        progress.copied(PEER, store_segment, 2_000_000, lag=3.0)
    snap = progress.publish()
    assert (snap.planned, snap.copied, snap.pending, snap.bytes) == (100, 10, 90, 20_000_000)
    assert snap.rate == pytest.approx(2_000_000, rel=0.15)
    assert snap.eta == pytest.approx(90, rel=0.15)  # 90 segments of 2 MB at 2 MB/s
    line = format_line(snap)
    assert "10/100 segments" in line and "20.0 MB" in line and "MB/s" in line and "ETA" in line
    assert PENDING._value.get() == 90  # the same numbers as metrics
    assert ETA._value.get() == pytest.approx(90, rel=0.15)


async def test_progress_is_logged_every_few_seconds(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(NOW)
    progress = Progress(clock)
    progress.plan(3)
    reporter = asyncio.create_task(progress.report(interval=5))
    await asyncio.sleep(0)
    with caplog.at_level(logging.INFO, logger="streamvault.backfiller.progress"):
        await clock.advance(5)
        progress.copied(PEER, _segment(), 1000, lag=1.0)
        await clock.advance(5)
        await clock.advance(5)  # nothing new, but copies are pending: a line anyway
        for _ in range(2):
            progress.copied(PEER, _segment(), 1000, lag=1.0)
        await clock.advance(5)  # done: one last line
        await clock.advance(5)
        await clock.advance(5)  # idle: quiet
    reporter.cancel()
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split()[1] for line in lines] == ["0/3", "1/3", "1/3", "3/3"]


def test_backoff_grows_to_a_cap() -> None:
    delays = [backoff_delay(n) for n in range(0, 12)]
    assert delays[:5] == [0, 1, 2, 4, 8]
    assert delays == sorted(delays)
    assert delays[-1] == backoff_delay(1000) <= 300


async def test_a_failing_peer_backs_off_and_recovers(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    source = SegmentStore(str(tmp_path / "peer"))
    segments = [write(source, at(i)) for i in range(3)]
    down = peer_from_url(closed_port_url())
    clock = FakeClock(NOW)
    store = SegmentStore(str(tmp_path / "mine"))
    copier = Copier(store, session, clock, Progress(clock))

    assert not await copier.copy(segments[0], [down])
    assert copier.state(down).failures == 1 and not copier.available(down)
    # still backing off: a copy that only this peer can serve waits (fake time), then tries
    attempt = asyncio.create_task(copier.copy(segments[1], [down]))
    await eventually(lambda: clock.sleepers == 1, "the copy waiting out the back-off")
    assert not attempt.done()
    await clock.advance(1)
    assert not await attempt
    assert copier.state(down).failures == 2
    assert copier.state(down).retry_at == clock.monotonic() + 2
    # a peer backing off for longer than MAX_WAIT is not waited for at all
    copier.state(down).retry_at = clock.monotonic() + MAX_WAIT + 1
    assert not await asyncio.wait_for(copier.copy(segments[2], [down]), 1)

    # the peer comes back: one success resets its back-off
    up = await serve(peer_app(source))
    back = peer_from_url(up)
    assert await copier.copy(segments[2], [down, back])
    assert copier.state(back).failures == 0
    assert tree(store) == {k: v for k, v in tree(source).items() if segments[2].name in k}


async def test_progress_reaches_its_end_when_the_downloader_wrote_a_segment_meanwhile(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    from aiohttp import web
    from aiohttp.typedefs import Handler

    from .test_service import make

    peer = SegmentStore(str(tmp_path / "peer"))
    segments = [write(peer, at(minute)) for minute in (1, 2, 3)]
    asked = asyncio.Event()
    release = asyncio.Event()

    @web.middleware
    async def hold_the_first(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/segments/") and not asked.is_set():
            asked.set()
            await release.wait()
        return await handler(request)

    app = peer_app(peer)
    app.middlewares.append(hold_the_first)
    store, backfiller = make(tmp_path, [await serve(app)], session, per_peer=1)
    running = asyncio.create_task(backfiller.run_pass())
    await asyncio.wait_for(asked.wait(), 10)
    for segment in segments:  # the local downloader catches up while the copy waits
        if not await asyncio.to_thread(os.path.exists, store.segment_path(segment)):
            write(store, segment.start, data=await read_file(peer.segment_path(segment)))
    release.set()
    result = await asyncio.wait_for(running, 10)
    assert (result.copied, result.failed) == (3, 0)
    snap = backfiller.progress.publish()
    assert (snap.planned, snap.done, snap.copied, snap.present, snap.pending) == (3, 3, 1, 2, 0)
    assert format_line(snap).startswith("backfill: 3/3 segments copied (2 already here")
    assert PENDING._value.get() == 0
    assert tree(store) == tree(peer)
