"""Nothing a peer sends can kill, bloat or blind the backfiller (a hostile peer beside a good
one, both real servers on loopback)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import REGISTRY

from streamvault.backfiller.peers import peer_from_url
from streamvault.metrics import render
from streamvault.restreamer.app import create_app
from streamvault.store.disk import SegmentStore
from streamvault.timeutil import floor_hour

from .conftest import NOW, Serve, at, closed_port_url, peer_app, tree, write
from .hostile import (
    Sent,
    deep_listing_app,
    future_feed_app,
    huge_listing_app,
    huge_segment_app,
)
from .test_cluster import eventually
from .test_service import make


def bad_answers(peer: str, kind: str) -> float:
    labels = {"peer": peer, "kind": kind}
    return REGISTRY.get_sample_value("streamvault_backfill_bad_answers_total", labels) or 0.0


async def good_peer(tmp_path: Path, serve: Serve, count: int = 3) -> tuple[SegmentStore, str]:
    store = SegmentStore(str(tmp_path / "good"))
    for i in range(count):
        write(store, at(1 + i))
    return store, await serve(create_app(store.base_dir))


def only_segments(store: SegmentStore) -> dict[str, bytes]:
    return {path: data for path, data in tree(store).items() if path.endswith(".ts")}


async def test_deeply_nested_listing_marks_the_peer_bad_and_the_good_peer_still_copies(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    good, good_url = await good_peer(tmp_path, serve)
    hostile_url = await serve(deep_listing_app())
    store, backfiller = make(tmp_path, [hostile_url, good_url], session)
    before = bad_answers(hostile_url, "listing")
    with caplog.at_level(logging.WARNING):
        result = await backfiller.run_pass()  # used to raise RecursionError
        second = await backfiller.run_pass()
    assert only_segments(store) == only_segments(good)
    assert result.copied == 3 and hostile_url in result.peer_errors
    assert "nested deeper" in result.peer_errors[hostile_url]
    assert bad_answers(hostile_url, "listing") == before + 1  # left alone on the second pass
    assert "backing off" in second.peer_errors[hostile_url]
    marked = [r for r in caplog.records if "leaving it alone" in r.getMessage()]
    assert len(marked) == 1, [r.getMessage() for r in caplog.records]


async def test_a_two_million_name_listing_is_refused_unread_and_copying_goes_on(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good, good_url = await good_peer(tmp_path, serve)
    sent = Sent()
    hostile_url = await serve(huge_listing_app(floor_hour(at(1)), 2_000_000, sent))
    store, backfiller = make(tmp_path, [hostile_url, good_url], session)
    result = await backfiller.run_pass()
    assert only_segments(store) == only_segments(good)
    assert result.copied == 3 and "bytes" in result.peer_errors[hostile_url]
    assert sent.requests and not sent.finished  # the backfiller hung up part way
    assert bad_answers(hostile_url, "listing") >= 1


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_huge_segment_body_is_refused_not_stored(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, chunked: bool
) -> None:
    sent = Sent()
    limit = 1024 * 1024
    hostile_url = await serve(huge_segment_app(floor_hour(at(1)), 64 * limit, sent, chunked))
    store, backfiller = make(tmp_path, [hostile_url], session, max_segment_bytes=limit)
    result = await backfiller.run_pass()
    assert (result.copied, result.failed) == (0, 1)
    assert tree(store) == {}  # neither the segment nor a temp file is left
    assert not sent.finished
    assert bad_answers(hostile_url, "segment") == 1
    assert not backfiller.copier.available(peer_from_url(hostile_url))


async def test_future_dated_change_feed_is_refused_and_the_good_peer_still_copies(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    good, good_url = await good_peer(tmp_path, serve)
    sent = Sent()
    hostile_url = await serve(future_feed_app(NOW, 2000, sent))
    store, backfiller = make(tmp_path, [hostile_url, good_url], session, interval=1000.0)
    task = asyncio.create_task(backfiller.run())
    try:
        await eventually(lambda: bad_answers(hostile_url, "feed") >= 1)
        await eventually(lambda: only_segments(store) == only_segments(good))
        # nothing was deferred for the announced names, and the peer is left alone
        assert not backfiller.followers._background
        assert not backfiller.copier.available(peer_from_url(hostile_url))
        polls = len(sent.requests)
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(sent.requests) == polls
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_tombstones_hiding_a_whole_hour_are_held_back_until_accepted(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    segments = [write(peer, at(1 + i)) for i in range(20)]
    for segment in segments:
        peer.write_tombstone(segment)
    url = await serve(peer_app(peer))
    store, backfiller = make(tmp_path, [url], session)
    for i in range(20):
        write(store, at(1 + i))
    hour = segments[0].hour
    with caplog.at_level(logging.ERROR):
        first = await backfiller.run_pass()
        second = await backfiller.run_pass()
    assert first.tombstones == second.tombstones == 0
    assert len(store.segment_names("ch", "source", hour)) == 20  # nothing hidden
    held = [r for r in caplog.records if "holding back" in r.getMessage()]
    assert len(held) == 1 and hour in held[0].getMessage()
    gauge = "streamvault_backfill_tombstones_held_hours"
    labels = {"channel": "ch", "quality": "source"}
    assert REGISTRY.get_sample_value(gauge, labels) == 1

    # the operator accepts the hour: now the tombstones go through
    store2, accepting = make(tmp_path, [url], session, accept_tombstones=frozenset([hour]))
    assert store2.base_dir == store.base_dir
    result = await accepting.run_pass()
    assert result.tombstones == 20
    assert store.segment_names("ch", "source", hour) == []
    assert REGISTRY.get_sample_value(gauge, labels) == 0


async def test_a_few_tombstones_pass_the_valve(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    peer = SegmentStore(str(tmp_path / "peer"))
    segments = [write(peer, at(1 + i)) for i in range(20)]
    peer.write_tombstone(segments[3])
    peer.write_tombstone(segments[7])  # 2 of 20: 10 %, the default share
    url = await serve(peer_app(peer))
    store, backfiller = make(tmp_path, [url], session)
    result = await backfiller.run_pass()
    assert result.tombstones == 2 and result.copied == 18
    # a third one later is more than 10 % of the hour since start-up: held back
    peer.write_tombstone(segments[11])
    assert (await backfiller.run_pass()).tombstones == 0
    assert len(store.segment_names("ch", "source", segments[0].hour)) == 18


async def test_peer_credentials_never_reach_logs_or_metrics(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    _good, good_url = await good_peer(tmp_path, serve, count=1)
    secret_good = good_url.replace("http://", "http://backfill:s3cr3t-good@")
    secret_dead = closed_port_url().replace("http://", "http://backfill:s3cr3t-dead@")
    secret_deep = (await serve(deep_listing_app(10))).replace("http://", "http://u:s3cr3t-deep@")
    _store, backfiller = make(tmp_path, [secret_good, secret_dead, secret_deep], session)
    with caplog.at_level(logging.DEBUG):
        result = await backfiller.run_pass()
    assert result.copied == 1  # the credentials still go to the peer
    text = caplog.text + result.summary() + render().decode()
    assert "s3cr3t" not in text
    assert good_url in render().decode()  # the series are labelled with the URL, redacted


def test_backfill_flags_accept_tombstones_and_the_share() -> None:
    from streamvault.backfiller.command import settings_from_args
    from streamvault.cli import build_parser

    args = build_parser().parse_args(
        ["backfill", "--channel", "a", "--accept-tombstones", "2026-01-01T10",
         "--accept-tombstones", "2026-01-01T11", "--max-tombstone-share", "0.25"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.accept_tombstones == {"2026-01-01T10", "2026-01-01T11"}
    assert settings.max_tombstone_share == 0.25
    for bad in (["--accept-tombstones", "yesterday"], ["--max-tombstone-share", "2"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["backfill", "--channel", "a", *bad])


def test_segments_from_the_future_are_bad_names() -> None:
    from streamvault.backfiller.plan import future_hours, plan_hour
    from streamvault.store.naming import format_name, hash_bytes

    future = NOW + timedelta(hours=3)
    name = format_name(future, 2.0, "full", hash_bytes(b"x"))
    plan = plan_hour("ch", "source", future.strftime("%Y-%m-%dT%H"), [], [name], NOW)
    assert plan.future == (name,) and not plan.fetch and not plan.too_recent
    assert future_hours(["2026-01-01T12", "2026-01-02T00", "junk"], NOW) == ["2026-01-02T00"]
