"""Hash consensus end to end (SPEC §15): real restreamers and backfillers on real sockets."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
from prometheus_client import REGISTRY

from streamvault.restreamer.app import create_app
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment
from streamvault.timeutil import format_iso
from tests.helpers import read_file

from .conftest import Serve, at, closed_port_url, write
from .test_cluster import backfiller, node_store, visible

WHOLE = bytes(range(256)) * 40  # 10 kB
SHORT = WHOLE[:4000]  # cut short, cleanly: a byte prefix of the whole one
OTHER = bytes(reversed(WHOLE))  # the same length, not a prefix


def counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("streamvault_hash_disagreements_total", {"outcome": outcome})
    return value or 0.0


async def cluster(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession, held: dict[str, list[bytes]]
) -> tuple[list[SegmentStore], list[str], list[Segment]]:
    """Nodes named like ``held``'s keys, each holding those versions of one segment (at
    minute 5), plus an undisputed neighbour; returns stores, URLs and the versions."""
    stores = [node_store(tmp_path, name) for name in held]
    versions: dict[bytes, Segment] = {}
    for store, data in zip(stores, held.values(), strict=True):
        for version in data:
            versions[version] = write(store, at(5), data=version)
        write(store, at(6))  # agreed by all
    urls = [await serve(create_app(store.base_dir)) for store in stores]
    return stores, urls, list(versions.values())


async def passes(stores: list[SegmentStore], urls: list[str], session: aiohttp.ClientSession,
                 rounds: int = 2) -> None:  # fmt: skip
    nodes = [
        backfiller(store, [u for u in urls if u != url], session, qualities=("source",))
        for store, url in zip(stores, urls, strict=True)
    ]
    for _ in range(rounds):
        results = await asyncio.gather(*(node.run_pass() for node in nodes))
        assert all(r.ok for r in results), [r.summary() for r in results]


def names(store: SegmentStore, segment: Segment) -> list[str]:
    return store.segment_names("ch", "source", segment.hour)


async def coverage_records(
    session: aiohttp.ClientSession, url: str, segment: Segment
) -> list[dict[str, object]]:
    params = {"start": format_iso(at(0)), "end": format_iso(at(30))}
    async with session.get(f"{url}/coverage/ch/source.json", params=params) as response:
        assert response.status == 200
        body = await response.json()
    records: list[dict[str, object]] = body["hash_disagreements"]
    return records


async def test_a_majority_replaces_the_short_copy_everywhere(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    before = counted("majority")
    stores, urls, (whole, short) = await cluster(
        tmp_path, serve, session, {"a": [WHOLE], "b": [SHORT], "c": [WHOLE]}
    )
    await passes(stores, urls, session)
    views = [visible(store) for store in stores]
    assert views[0] == views[1] == views[2]  # every node serves the same archive
    for store in stores:
        assert whole.name in names(store, whole)
        assert short.name not in names(store, whole)
        assert await read_file(store.segment_path(whole)) == WHOLE
    # the short copy was never copied anywhere; b hid its own once it had the winner
    assert not await asyncio.to_thread(os.path.exists, stores[0].segment_path(short))
    assert await asyncio.to_thread(
        os.path.exists, stores[1].segment_path(short)
    )  # kept, hidden by a tombstone
    # counted once per node that saw it (a and c see it too), logged, recorded, listed
    assert counted("majority") - before == 3
    [record] = await coverage_records(session, urls[1], whole)
    assert record["outcome"] == "majority"
    assert record["winner"] == whole.name
    assert record["start"] == format_iso(at(5))
    # nothing more to decide or count on later passes
    await passes(stores, urls, session)
    assert counted("majority") - before == 3


async def test_a_tie_goes_to_the_longer_file_when_the_shorter_is_its_prefix(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    before = counted("prefix")
    stores, urls, (whole, short) = await cluster(
        tmp_path, serve, session, {"a": [WHOLE], "b": [SHORT]}
    )
    await passes(stores, urls, session)
    assert visible(stores[0]) == visible(stores[1])
    assert short.name not in names(stores[1], short)
    assert whole.name in names(stores[1], short)
    assert counted("prefix") - before == 2
    [record] = await coverage_records(session, urls[0], whole)
    assert (record["outcome"], record["winner"]) == ("prefix", whole.name)
    # no temp file is left over from comparing the bytes
    for store in stores:
        for root, _dirs, files in os.walk(store.base_dir):
            assert not [f for f in files if "-temp-" in f], root


async def test_an_undecidable_tie_is_kept_on_both_sides_and_reported(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    before = counted("undecidable")
    stores, urls, (whole, other) = await cluster(
        tmp_path, serve, session, {"a": [WHOLE], "b": [OTHER], "c": []}
    )
    await passes(stores, urls, session)
    a, b, c = stores
    assert whole.name in names(a, whole) and other.name not in names(a, whole)
    assert other.name in names(b, whole) and whole.name not in names(b, whole)
    # c held none: it keeps both, so nothing anyone received is lost
    assert {whole.name, other.name} <= set(names(c, whole))
    assert not any(n.endswith(".tombstone") for s in stores for n in names_all(s, whole))
    assert counted("undecidable") - before >= 2
    for url in urls[:2]:
        [record] = await coverage_records(session, url, whole)
        assert record["outcome"] == "undecidable"
        assert record["winner"] is None


def names_all(store: SegmentStore, segment: Segment) -> list[str]:
    return store.segment_names("ch", "source", segment.hour, tombstones=True)


async def test_nothing_is_decided_while_a_peer_does_not_answer(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    stores, urls, (whole, short) = await cluster(
        tmp_path, serve, session, {"a": [WHOLE], "b": [SHORT], "c": [WHOLE]}
    )
    down = closed_port_url()
    b = backfiller(stores[1], [urls[0], urls[2], down], session, qualities=("source",))
    result = await b.run_pass()
    assert not result.ok  # the missing peer is reported
    assert short.name in names(stores[1], short)  # kept: the view was incomplete
    assert whole.name not in names(stores[1], short)  # and no second version copied
    [record] = await coverage_records(session, urls[1], whole)
    assert record["outcome"] == "pending"


async def test_copies_of_a_short_version_never_outvote_the_whole_one(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    """b got a's short copy before its own download landed, c copied it too: three votes
    for the short version, one for the whole one. The whole one must survive everywhere."""
    stores, urls, (short, whole) = await cluster(
        tmp_path, serve, session, {"a": [SHORT], "b": [SHORT, WHOLE], "c": [SHORT]}
    )
    await passes(stores, urls, session, rounds=3)
    views = [visible(store) for store in stores]
    assert views[0] == views[1] == views[2]
    for store in stores:
        assert whole.name in names(store, whole)
        assert short.name not in names(store, whole)
    [record] = await coverage_records(session, urls[1], whole)
    assert (record["outcome"], record["winner"]) == ("prefix", whole.name)


async def test_a_node_never_hides_the_whole_version_for_its_short_copy(
    tmp_path: Path, serve: Serve, session: aiohttp.ClientSession
) -> None:
    """c holds only the whole version and sees a majority for the short one: it copies the
    short one, but once it holds both bytes it does not hide the whole one."""
    stores, urls, (short, whole) = await cluster(
        tmp_path, serve, session, {"a": [SHORT], "b": [SHORT], "c": [WHOLE]}
    )
    c = backfiller(stores[2], urls[:2], session, qualities=("source",))
    await c.run_pass()
    assert {short.name, whole.name} <= set(names(stores[2], whole))  # kept both
    await c.run_pass()  # with both here, its own bytes decide: the short one goes
    assert whole.name in names(stores[2], whole)
    assert short.name not in names(stores[2], whole)
