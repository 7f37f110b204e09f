from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streamvault.events.store import EventStore
from streamvault.restreamer.app import create_app

from ..dbfixtures import database_url, event_store, postgres  # noqa: F401 - shared fixtures
from ..restreamer.conftest import segment_datas  # noqa: F401 - shared fixture


@pytest.fixture
async def client(tmp_path: object, event_store: EventStore) -> AsyncIterator[TestClient]:  # noqa: F811
    app = create_app(str(tmp_path), events=event_store)
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    yield client
    await client.close()
