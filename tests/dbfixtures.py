"""Database fixtures shared by tests/events and tests/cutjobs.

``database_url`` runs a test once on SQLite and once on PostgreSQL (a throwaway cluster made
for the session, a fresh database per test). If PostgreSQL cannot start, the test fails.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from streamvault.events.store import EventStore

from .pgserver import PostgresServer

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()  # raises (the test errors, never skips) when it cannot
        yield server
    finally:
        server.stop()


def fresh_database(server: PostgresServer) -> str:
    return server.create_database(f"t{os.getpid()}_{next(_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres")
    return fresh_database(server)


@pytest.fixture
async def event_store(database_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.connect(database_url)
    yield store
    await store.close()
