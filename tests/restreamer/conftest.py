"""Fixtures: a session-wide store of real video segments and a restreamer serving it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamvault.clock import FakeClock
from streamvault.restreamer.app import create_app
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment

from .media import T0, populate, render_segments, start_of

#: "Now" for most tests: a day after the recording, so every range is in the past.
LATER = T0 + timedelta(days=1)


@dataclass
class Archive:
    base: str
    datas: list[bytes]
    source: list[Segment]  # test/source: all 20 segments
    holes: list[Segment]  # holes/source: segments 10 and 11 missing
    tombstoned: Segment  # a partial segment in test/source hidden by a tombstone
    temp_name: str  # a temp file in test/source

    def start(self, index: int) -> datetime:
        return start_of(index)


@pytest.fixture(scope="session")
def segment_datas(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return render_segments(str(tmp_path_factory.mktemp("render")))


def build_archive(base: str, datas: list[bytes]) -> Archive:
    store = SegmentStore(base)
    source = populate(store, "test", "source", datas)
    populate(store, "test", "480p", datas[:10])
    holes = populate(store, "holes", "source", datas, skip=(10, 11))
    hidden = store.write_segment("test", "source", start_of(5), 1.5, "partial", b"bad bytes")
    store.write_tombstone(hidden)
    temp = store.open_segment("test", "source", start_of(6), 2.0)
    temp.write(b"half")  # left open: a download in progress
    return Archive(base, datas, source, holes, hidden, os.path.basename(temp.path))


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory, segment_datas: list[bytes]) -> Archive:
    return build_archive(str(tmp_path_factory.mktemp("store")), segment_datas)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(LATER)


@pytest.fixture
def seen() -> list[str]:
    """Paths the test server answered, in order."""
    return []


async def serve(base: str, clock: FakeClock, seen: list[str]) -> TestClient:
    app = create_app(base, clock=clock)

    async def record(request: web.Request, response: web.StreamResponse) -> None:
        seen.append(request.path)

    app.on_response_prepare.append(record)
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    return client


@pytest.fixture
async def client(archive: Archive, clock: FakeClock, seen: list[str]) -> AsyncIterator[TestClient]:
    client = await serve(archive.base, clock, seen)
    yield client
    await client.close()
