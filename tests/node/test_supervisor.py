"""A node's components are supervised: a failure is logged once, counted, and restarted."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from streamvault.clock import FakeClock
from streamvault.downloader.manager import ChannelManager
from streamvault.node.runtime import Node
from streamvault.node.supervisor import RestartBackoff, supervise
from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.store.disk import SegmentStore

from .simnode import sim_node_config


def sample(name: str, component: str) -> float:
    return REGISTRY.get_sample_value(name, {"component": component}) or 0.0


def test_backoff_grows_with_jitter_and_resets_after_a_good_run() -> None:
    backoff = RestartBackoff(base=1.0, cap=60.0, reset_after=600.0, rng=random.Random(1))
    delays = [backoff.failed(ran_for=1.0) for _ in range(10)]
    assert all(0.5 * min(60, 2**i) <= d <= min(60, 2**i) for i, d in enumerate(delays))
    assert max(delays) <= 60.0
    assert backoff.failed(ran_for=3600.0) <= 1.0  # it ran a good while: from the start again


async def test_a_failing_component_is_logged_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    runs: list[int] = []
    running = asyncio.Event()

    async def component() -> None:
        runs.append(1)
        if len(runs) <= 2:
            raise RecursionError("maximum recursion depth exceeded")  # nobody foresaw it
        running.set()
        await asyncio.Event().wait()

    name = "test-flaky"
    restarts = sample("streamvault_component_restarts_total", name)
    with caplog.at_level(logging.ERROR):
        task = asyncio.create_task(supervise(name, component, clock))
        try:
            while not running.is_set():
                await clock.advance(1.0)
            assert sample("streamvault_component_up", name) == 1
            assert sample("streamvault_component_restarts_total", name) == restarts + 2
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert len(runs) == 3
    failures = [r for r in caplog.records if "component test-flaky failed" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info for r in failures)
    assert all(r.levelno == logging.ERROR for r in failures)
    assert sample("streamvault_component_up", name) == 0  # stopped


async def test_the_component_is_down_while_it_waits_to_restart() -> None:
    clock = FakeClock()

    async def broken() -> None:
        raise ValueError("always")

    task = asyncio.create_task(supervise("test-broken", broken, clock))
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        assert sample("streamvault_component_up", "test-broken") == 0
        assert sample("streamvault_component_restarts_total", "test-broken") == 1
        assert clock.sleepers == 1  # backing off, not spinning
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_node_restarts_a_failed_downloader_and_recording_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The channel manager's loop fails once before it starts any worker: unsupervised, the
    # channel would never be recorded while the node looked healthy.
    real_due = ChannelManager._due
    calls: list[float] = []

    def due_failing_once(self: ChannelManager, now: float) -> tuple[list[str], float]:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("a bug nobody foresaw")
        return real_due(self, now)

    monkeypatch.setattr(ChannelManager, "_due", due_failing_once)
    restarts = sample("streamvault_component_restarts_total", "downloader")
    config = SimConfig(channels=[ChannelConfig("alpha", ["source"], history=3)], time_scale=10.0)
    async with Simulator(config) as sim:
        node_config = sim_node_config(sim, tmp_path)
        with caplog.at_level(logging.ERROR):
            async with Node(node_config, clock=sim.clock):
                await wait_until(lambda: stored(tmp_path), "a segment on disk after the restart")
                assert sample("streamvault_component_up", "downloader") == 1
                assert sample("streamvault_component_restarts_total", "downloader") == restarts + 1
    failures = [r for r in caplog.records if "component downloader failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR
    assert failures[0].exc_info and "a bug nobody foresaw" in str(failures[0].exc_info[1])
    assert sample("streamvault_component_up", "downloader") == 0  # the node stopped


def stored(base: Path) -> bool:
    store = SegmentStore(str(base))
    return any(
        store.segments("alpha", "source", hour).segments for hour in store.hours("alpha", "source")
    )


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"no {what} within {timeout:.0f} s"
        await asyncio.sleep(0.05)
