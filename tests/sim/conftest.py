"""Fixtures for the simulator tests: one rendered video cache per session, running sims."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamvault.clock import Clock
from streamvault.sim import ChannelConfig, SimConfig, Simulator

#: small loop, so ten consecutive segments cross a loop boundary
LOOP_SEGMENTS = 4
TIME_SCALE = 20.0

MakeSim = Callable[..., Awaitable[Simulator]]


@pytest.fixture(scope="session")
def sim_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-cache")


def base_config(cache: Path, **overrides: Any) -> SimConfig:
    config = SimConfig(
        channels=[
            ChannelConfig("alpha", ["source", "480p"], master_style="media", history=6),
            ChannelConfig("beta", ["source", "480p"], master_style="ivs", history=6),
        ],
        segment_duration=2.0,
        time_scale=TIME_SCALE,
        window=30,
        loop_segments=LOOP_SEGMENTS,
        cache_dir=str(cache),
    )
    return dataclasses.replace(config, **overrides)


@pytest.fixture
async def make_sim(sim_cache: Path) -> AsyncIterator[MakeSim]:
    started: list[Simulator] = []

    async def make(clock: Clock | None = None, **overrides: Any) -> Simulator:
        sim = Simulator(base_config(sim_cache, **overrides), clock=clock)
        await sim.start(host="127.0.0.1", port=0)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()


@pytest.fixture
async def sim(make_sim: MakeSim) -> Simulator:
    return await make_sim()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
