"""Fixtures: a scaled clock and the simulated chat server on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from streamvault.clock import ScaledClock
from streamvault.sim.chat_server import ChatServer

#: 20 sim seconds a second: a minute's batch closes 6 s after its end, a 3 min outage is 9 s
SCALE = 20.0


@pytest.fixture
async def clock(request: pytest.FixtureRequest) -> ScaledClock:
    """``SCALE``, or the scale a test asks for (``parametrize("clock", [5.0], indirect=True)``)."""
    return ScaledClock(getattr(request, "param", SCALE))


@pytest.fixture
async def server(clock: ScaledClock) -> AsyncIterator[ChatServer]:
    """Five messages a sim second on channel alpha; every 9th with an id is delivered twice."""
    chat = ChatServer(clock, ["alpha"], rate=5.0, duplicate_every=9)
    await chat.start()
    yield chat
    await chat.stop()
