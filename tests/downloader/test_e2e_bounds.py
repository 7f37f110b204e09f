"""End-to-end bounds (issue 13): an ended stream, a hostile playlist, a stalled segment and a
stop with everything stalled each cost a bounded number of workers, requests and seconds."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from streamvault.sim import ChannelConfig, Fault, Simulator
from tests.helpers import eventually

from .simhelp import assert_complete, downloader, sim_config, sim_wait, stored, temp_files, until

SCALE = 60.0


async def watch_workers(recorder: object, peaks: list[int]) -> None:
    """Sample the number of workers of every (channel, quality) until cancelled."""
    while True:
        for manager in recorder.managers:  # type: ignore[attr-defined]
            for workers in manager.workers.values():
                peaks.append(len(workers))
        await asyncio.sleep(0.005)


def running_counts(caplog: pytest.LogCaptureFixture) -> list[int]:
    pattern = re.compile(r"starting worker \((\d+) running\)")
    found = [pattern.search(r.getMessage()) for r in caplog.records]
    return [int(m.group(1)) for m in found if m]


async def test_an_ended_stream_whose_master_answers_costs_a_few_requests_a_minute(
    sim_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = sim_config(sim_cache, [ChannelConfig("bnd1", history=3)], time_scale=SCALE)
    async with Simulator(config) as sim:
        sim.add_fault(Fault("ended", channel="bnd1", from_seconds=20.0))
        peaks: list[int] = []
        with caplog.at_level(logging.INFO, logger="streamvault.downloader"):
            async with downloader(sim, tmp_path, ["bnd1"], ["source"]) as recorder:
                watcher = asyncio.create_task(watch_workers(recorder, peaks))
                await sim_wait(sim, 30)  # recorded until it ended, then saw the ENDLIST
                before = sim.counters["requests"]
                await sim_wait(sim, 600)  # ten minutes of an ended stream
                after = sim.counters["requests"]
                watcher.cancel()
    assert peaks and max(peaks) <= 2
    assert max(running_counts(caplog)) <= 2
    usher = after["usher"] - before["usher"]
    playlist = after["playlist"] - before["playlist"]
    assert usher <= 600 / 20 + 1  # no more often than the 20 s retry interval
    assert playlist <= 600 / 2  # at most one poll per 2 s (here: one per new worker)
    assert after["segment"] == before["segment"]  # nothing is fetched again
    assert stored(tmp_path, "bnd1", "source")
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize(
    ("fault", "interval"),
    [
        (Fault("playlist_status", channel="bnd2", status=500), 20.0),
        (Fault("mangle", channel="bnd2", mangle="garbage"), 20.0),
        (Fault("mangle", channel="bnd2", mangle="nan_duration"), 2.0),
        (Fault("mangle", channel="bnd2", mangle="inf_duration"), 2.0),
        (Fault("mangle", channel="bnd2", mangle="zero_duration"), 2.0),
        (Fault("mangle", channel="bnd2", mangle="year_9999"), 2.0),
        (Fault("mangle", channel="bnd2", mangle="year_1"), 2.0),
    ],
    ids=lambda v: v.mangle if isinstance(v, Fault) and v.kind == "mangle" else None,
)
async def test_a_hostile_media_playlist_costs_a_few_requests_per_interval(
    sim_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: Fault, interval: float
) -> None:
    """500 or garbage: each new worker's first poll fails, so the next waits 20 s. Absurd
    segments (NaN, inf or zero EXTINF, dates in year 9999 or 1): left out with one line each,
    the worker polls on every 2 s and nothing is stored."""
    config = sim_config(sim_cache, [ChannelConfig("bnd2", history=3)], time_scale=SCALE)
    seconds = 200.0
    async with Simulator(config) as sim:
        sim.add_fault(fault)
        with caplog.at_level(logging.WARNING, logger="streamvault.downloader"):
            async with downloader(sim, tmp_path, ["bnd2"], ["source"]):
                await sim_wait(sim, seconds)
                requests = sim.counters["requests"]
    assert requests["usher"] <= seconds / 20 + 2
    assert requests["gql"] == requests["usher"]
    assert requests["playlist"] <= seconds / interval + 2
    assert requests["segment"] == 0
    assert stored(tmp_path, "bnd2", "source") == {}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    rejected = [r.getMessage() for r in caplog.records if "rejected:" in r.getMessage()]
    assert len(rejected) == len(set(rejected))  # one line each, not one per poll


async def test_a_refused_media_playlist_connection_backs_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A master playlist that answers, whose media playlist's port refuses connections."""
    from aiohttp import web

    from streamvault.clock import ScaledClock
    from streamvault.downloader.service import ChannelSpec, Downloader
    from streamvault.store.disk import SegmentStore
    from tests.helpers import closed_port

    closed = closed_port()
    masters = 0

    async def master(request: web.Request) -> web.Response:
        nonlocal masters
        masters += 1
        text = f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=9\nhttp://127.0.0.1:{closed}/media.m3u8\n"
        return web.Response(text=text)

    app = web.Application()
    app.router.add_get("/master.m3u8", master)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/master.m3u8"
    clock = ScaledClock(SCALE)
    recorder = Downloader(
        SegmentStore(str(tmp_path)), [ChannelSpec("bnd3", type="url", url=url)], ["source"], clock
    )
    try:
        async with recorder:
            await clock.sleep(200)
    finally:
        await runner.cleanup()
    assert 1 <= masters <= 200 / 20 + 2


async def test_a_segment_stalled_on_every_attempt_has_two_in_flight_and_ends_suspect(
    sim_cache: Path, tmp_path: Path
) -> None:
    config = sim_config(
        sim_cache, [ChannelConfig("bnd4", history=2)], time_scale=30.0, segment_url_max_age=3600.0
    )
    async with Simulator(config) as sim:
        sim.add_fault(Fault("stall_then_truncate", channel="bnd4", sequence=5, stall_seconds=61))
        async with downloader(sim, tmp_path, ["bnd4"], ["source"]):
            await until_stored(tmp_path, sim, "bnd4", 5)
            published = sim.published("bnd4", "source")
            await sim_wait(sim, 4)
        counters = sim.counters
    peak = counters["segment_in_flight_max"].get("bnd4/source/5", 1)
    assert peak == 2  # the slow attempt and one more beside it, never more
    by_sequence = {s.sequence: s for s in published}
    files = stored(tmp_path, "bnd4", "source")
    assert [f.type for f in files[by_sequence[5].program_date_time]] == ["suspect"]
    # Nothing else was held up: every other segment is there, full.
    assert_complete(sim, tmp_path, "bnd4", "source", published, allowed_missing={5})


async def until_stored(base: Path, sim: Simulator, channel: str, sequence: int) -> None:
    timeline = sim.channel(channel)
    assert timeline is not None
    start = timeline.start_of(sequence)
    await eventually(
        lambda: start in stored(base, channel, "source"), f"{channel} {sequence} stored"
    )


async def test_stop_with_twenty_attempts_stalled_ends_within_the_grace(
    sim_cache: Path, tmp_path: Path
) -> None:
    scale = 5.0
    config = sim_config(sim_cache, [ChannelConfig("bnd5", history=2)], time_scale=scale)
    async with Simulator(config) as sim:
        timeline = sim.channel("bnd5")
        assert timeline is not None
        first = timeline.next_sequence + 3
        sim.add_fault(
            Fault(
                "stall_then_truncate",
                channel="bnd5",
                from_sequence=first,
                to_sequence=first + 9,
                stall_seconds=3600,
            )
        )
        recorder = downloader(sim, tmp_path, ["bnd5"], ["source"], stop_grace=10.0)
        recorder.start()
        try:
            # ten stalled segments, each with its slow attempt and a parallel one
            await until(lambda: len(temp_files(tmp_path)) >= 20, 60)
            done_before = set(stored(tmp_path, "bnd5", "source"))
        finally:
            began = sim.clock.monotonic()
            await recorder.stop()
            took = sim.clock.monotonic() - began
        assert took <= 10.0 + 1.0
    assert temp_files(tmp_path) == []
    assert done_before and done_before <= set(stored(tmp_path, "bnd5", "source"))
