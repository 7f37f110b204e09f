"""Backfill passes against small peer servers on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import REGISTRY

from streamvault.backfiller.peers import PeerDiscovery, peer_from_url
from streamvault.backfiller.service import Backfiller, Settings
from streamvault.clock import FakeClock
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import hash_bytes, tombstone_name

from .conftest import (
    NOW,
    Serve,
    at,
    closed_port_url,
    garbage_app,
    hanging_app,
    peer_app,
    tree,
    write,
)


def sample(name: str, **labels: str) -> float:
    """The sum of a metric's samples that carry ``labels``."""
    total = 0.0
    for metric in REGISTRY.collect():
        for s in metric.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def make(
    tmp_path: Path,
    urls: list[str],
    session: aiohttp.ClientSession,
    name: str = "local",
    **settings: object,
) -> tuple[SegmentStore, Backfiller]:
    store = SegmentStore(str(tmp_path / name))
    options: dict[str, object] = {"channels": ("ch",), "start": 48.0, **settings}
    backfiller = Backfiller(
        store,
        Settings(**options),  # type: ignore[arg-type]
        PeerDiscovery(urls),
        session,
        FakeClock(NOW),
    )
    return store, backfiller


async def test_copies_what_peers_hold_and_nothing_twice(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    a, b = SegmentStore(str(tmp_path / "a")), SegmentStore(str(tmp_path / "b"))
    for minute in (0, 1, 2):
        write(a, at(minute))
    for minute in (2, 3, 70):  # 70: the next hour
        write(b, at(minute))
    url_a, url_b = await serve(peer_app(a)), await serve(peer_app(b))
    store, backfiller = make(tmp_path, [url_a, url_b], session)
    write(store, at(1))

    first = await backfiller.run_pass()
    assert (first.planned, first.copied, first.failed) == (4, 4, 0)
    assert first.ok
    mine = tree(store)
    assert mine == {**tree(a), **tree(b)}
    for path, data in mine.items():
        assert path.endswith(hash_bytes(data) + ".ts")

    second = await backfiller.run_pass()
    assert (second.planned, second.copied) == (0, 0)
    assert tree(store) == mine


async def test_corrupted_copy_is_discarded_and_taken_from_another_peer(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good, bad = SegmentStore(str(tmp_path / "good")), SegmentStore(str(tmp_path / "bad"))
    segment = write(good, at(5))
    write(bad, at(5))
    bad_url = await serve(peer_app(bad, corrupt={segment.name}))
    store, backfiller = make(tmp_path, [bad_url], session)

    alone = await backfiller.run_pass()
    assert (alone.mismatches, alone.copied, alone.failed) == (1, 0, 1)
    assert not alone.ok
    assert tree(store) == {}  # nothing bad kept, no temp file left behind

    good_url = await serve(peer_app(good))
    backfiller.discovery = PeerDiscovery([bad_url, good_url])
    await backfiller.discovery.refresh()
    healed = await backfiller.run_pass()
    assert (healed.copied, healed.failed) == (1, 0)
    assert healed.mismatches == 0  # the bad peer is not asked again for that segment
    assert tree(store) == tree(good)
    assert backfiller.progress.mismatches == 1


async def test_down_garbage_and_hanging_peers_do_not_stop_the_good_one(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good = SegmentStore(str(tmp_path / "good"))
    for minute in range(10):
        write(good, at(minute))
    urls = [
        closed_port_url(),
        await serve(garbage_app()),
        await serve(hanging_app()),
        await serve(peer_app(good)),
    ]
    store, backfiller = make(tmp_path, urls, session, listing_timeout=0.5)
    result = await backfiller.run_pass()
    assert result.copied == 10
    assert tree(store) == tree(good)
    assert sorted(result.peer_errors) == sorted(urls[:3])
    assert not result.ok
    # the failing peers back off: the next pass does not wait for them again
    for url in urls[:3]:
        assert not backfiller.copier.available(peer_from_url(url))
    assert "backing off" in (await backfiller.run_pass()).summary()


async def test_tombstones_replicate_and_hidden_segments_are_never_copied(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    hidden = write(peer, at(1))
    kept = write(peer, at(2))
    peer.write_tombstone(hidden)
    url = await serve(peer_app(peer))
    # an hour of two segments: each tombstone hides half of it, past the default valve
    store, backfiller = make(tmp_path, [url], session, max_tombstone_share=1.0)
    local_copy = write(store, at(2))  # we hold `kept`; it gets hidden below
    assert local_copy == kept

    result = await backfiller.run_pass()
    assert result.tombstones == 1
    assert store.segment_names("ch", "source", hidden.hour) == [kept.name]
    assert not await asyncio.to_thread(os.path.exists, store.segment_path(hidden))

    peer.write_tombstone(kept)
    result = await backfiller.run_pass()
    assert result.tombstones == 1
    assert store.segment_names("ch", "source", kept.hour) == []
    assert sorted(store.segment_names("ch", "source", kept.hour, tombstones=True)) == sorted(
        [tombstone_name(hidden.name), tombstone_name(kept.name)]
    )


async def test_segments_younger_than_the_cutoff_are_left_alone(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    old = write(peer, NOW - timedelta(seconds=61))
    young = write(peer, NOW - timedelta(seconds=59))
    url = await serve(peer_app(peer))
    store, backfiller = make(tmp_path, [url], session)
    write(store, NOW - timedelta(seconds=4), data=b"recorded here")  # the downloader is at work
    result = await backfiller.run_pass()
    assert result.copied == 1
    assert await asyncio.to_thread(os.path.exists, store.segment_path(old))
    assert not await asyncio.to_thread(os.path.exists, store.segment_path(young))
    assert result.ok  # not copying a young segment is not a failure


async def test_the_cutoff_holds_only_while_the_stream_is_recorded_here(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    young = write(peer, NOW - timedelta(seconds=20))
    url = await serve(peer_app(peer))
    # nothing records the stream here: a young segment is copied at once
    idle, backfiller = make(tmp_path, [url], session, name="idle")
    assert (await backfiller.run_pass()).copied == 1
    assert await asyncio.to_thread(os.path.exists, idle.segment_path(young))
    # its own copies are no recording: a newer young segment is copied at once too
    younger = write(peer, NOW - timedelta(seconds=10))
    assert (await backfiller.run_pass()).copied == 1
    assert await asyncio.to_thread(os.path.exists, idle.segment_path(younger))
    # a recorder that stopped 90 s ago (down, or behind) holds nothing back either
    stale, backfiller = make(tmp_path, [url], session, name="stale")
    write(stale, NOW - timedelta(seconds=90), data=b"last recorded")
    assert (await backfiller.run_pass()).copied == 2


async def test_a_quality_without_listed_hours_still_gets_them_checked(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    write(peer, at(1), "source")
    low = write(peer, at(1), "480p")
    url = await serve(peer_app(peer, no_hours_for={"480p"}))
    store, backfiller = make(tmp_path, [url], session, qualities=("source", "480p"))
    await backfiller.run_pass()
    assert await asyncio.to_thread(os.path.exists, store.segment_path(low))


async def test_per_peer_metrics(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good, bad = SegmentStore(str(tmp_path / "good")), SegmentStore(str(tmp_path / "bad"))
    segment = write(good, at(1))
    write(bad, at(1))
    urls = [await serve(peer_app(bad, corrupt={segment.name})), await serve(peer_app(good))]
    before_copied = sample("streamvault_backfill_segments_total", peer=urls[1])
    before_bytes = sample("streamvault_backfill_bytes_total", peer=urls[1])
    before_bad = sample("streamvault_backfill_hash_mismatches_total", peer=urls[0])
    before_lag = sample("streamvault_backfill_replication_lag_seconds_count", peer=urls[1])
    _store, backfiller = make(tmp_path, urls, session)
    # both are idle, so the first listed (the bad one) is tried first
    await backfiller.run_pass()
    assert sample("streamvault_backfill_segments_total", peer=urls[1]) == before_copied + 1
    assert sample("streamvault_backfill_bytes_total", peer=urls[1]) == before_bytes + len(
        tree(good)[os.path.join(segment.channel, segment.quality, segment.hour, segment.name)]
    )
    assert sample("streamvault_backfill_hash_mismatches_total", peer=urls[0]) == before_bad + 1
    assert sample("streamvault_backfill_replication_lag_seconds_count", peer=urls[1]) == (
        before_lag + 1
    )


async def test_copies_from_one_peer_are_bounded(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    for i in range(24):
        write(peer, at(i))
    app = peer_app(peer)
    load = {"now": 0, "max": 0, "started": 0}
    changed = asyncio.Condition()

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/segments/"):
            return await handler(request)
        async with changed:
            load["now"] += 1
            load["started"] += 1
            load["max"] = max(load["max"], load["now"])
            changed.notify_all()
            # held until as many copies run at once as are allowed, or all have begun: a
            # bound that does not hold shows up at once, whatever the machine's speed (a
            # copier that runs fewer goes on after 10 s, and fails the count below)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    changed.wait_for(lambda: load["now"] >= 3 or load["started"] >= 24), 10
                )
        try:
            return await handler(request)
        finally:
            load["now"] -= 1

    app.middlewares.append(count)
    _store, backfiller = make(tmp_path, [await serve(app)], session, per_peer=3)
    result = await backfiller.run_pass()
    assert result.copied == 24
    assert load["max"] == 3


async def test_the_same_segment_is_never_fetched_twice_at_once(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good, bad = SegmentStore(str(tmp_path / "good")), SegmentStore(str(tmp_path / "bad"))
    segment = write(good, at(1))
    write(bad, at(1))
    fetched: list[str] = []

    def counting(app: web.Application, label: str) -> web.Application:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith("/segments/"):
                fetched.append(label)
                await asyncio.sleep(0.05)
            return await handler(request)

        app.middlewares.append(count)
        return app

    bad_peer = peer_from_url(await serve(counting(peer_app(bad, corrupt={segment.name}), "bad")))
    good_peer = peer_from_url(await serve(counting(peer_app(good), "good")))
    store, backfiller = make(tmp_path, [], session)
    copier = backfiller.copier
    results = await asyncio.gather(
        copier.copy(segment, [bad_peer]),  # e.g. announced by the bad peer's feed
        copier.copy(segment, [bad_peer, good_peer]),  # and found by a pass
        copier.copy(segment, [good_peer]),
    )
    assert results == [False, True, True]
    assert fetched == ["bad", "good"]
    assert tree(store) == tree(good)
