"""The real ``streamvault download`` command against the simulator: /metrics and SIGTERM
(issue 8 tests 12 and 14), and important versus other channels while offline (test 2)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamvault.sim import ChannelConfig, Fault, SimConfig, Simulator
from streamvault.store.naming import Segment, is_temp_name, parse_temp_name
from streamvault.timeutil import to_seconds
from tests.helpers import PATIENCE, eventually

from .simhelp import downloader, sim_config, sim_wait, stored, temp_files, until


def metric_values(text: str, channel: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            if labels.get("channel", channel) == channel:
                values[(sample.name, tuple(sorted(labels.items())))] = sample.value
    return values


def value(values: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


async def until_async(
    check: Callable[[], Awaitable[bool]], what: Callable[[], str], seconds: float = PATIENCE
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, f"not reached in {seconds:.0f} s: {what()}"
        await asyncio.sleep(0.05)


CHANNEL = "cmd14"
LABELS = {"channel": CHANNEL, "quality": "source"}


@dataclass
class Command:
    """A running ``streamvault download`` and what a user sees of it."""

    process: asyncio.subprocess.Process
    log: Path
    store: Path
    metrics_url: str = ""

    def files(self) -> list[Segment]:
        return [s for group in stored(self.store, CHANNEL, "source").values() for s in group]

    async def scrape(self) -> str:
        async with aiohttp.ClientSession() as session, session.get(self.metrics_url) as response:
            assert response.status == 200
            return await response.text()


async def logged(command: Command, pattern: str) -> re.Match[str]:
    """Wait for a line of the command's log matching ``pattern``."""
    found: list[re.Match[str]] = []

    def check() -> bool:
        assert command.process.returncode is None, command.log.read_text()[-3000:]
        match = re.search(pattern, command.log.read_text(), re.M)
        found.extend([match] if match else [])
        return match is not None

    await eventually(check, lambda: f"{pattern!r} in the log: {command.log.read_text()[-3000:]}")
    return found[0]


@contextlib.asynccontextmanager
async def download_command(sim: Simulator, tmp_path: Path) -> AsyncIterator[Command]:
    """``streamvault download CHANNEL!`` against ``sim``, its /metrics on the port it bound
    (``--metrics-port 0``, read from its log); killed at the end if still running."""
    log = tmp_path / "downloader.log"
    with log.open("w") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streamvault", "download",
            "--base-dir", str(tmp_path / "store"),
            "--twitch-gql-url", sim.base_url, "--twitch-usher-url", sim.base_url,
            "--metrics-port", "0", "--log-level", "DEBUG", "--stop-grace", "5", f"{CHANNEL}!",
            stdout=log_file, stderr=log_file,
        )  # fmt: skip
        command = Command(process, log, tmp_path / "store")
        try:
            port = (await logged(command, r"metrics on [\d.]+:(\d+)/metrics"))[1]
            command.metrics_url = f"http://127.0.0.1:{port}/metrics"
            yield command
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def temp_starts(store: Path) -> list[datetime]:
    """The start times of the segments being written (their temp files) under ``store``."""
    starts = []
    for hour_dir in store.glob(f"{CHANNEL}/source/*"):
        for path in hour_dir.iterdir():
            if is_temp_name(path.name):
                time_text = parse_temp_name(path.name)[0]
                starts.append(datetime.fromisoformat(f"{hour_dir.name}:{time_text}+00:00"))
    return starts


def command_config(sim_cache: Path) -> SimConfig:
    return sim_config(sim_cache, [ChannelConfig(CHANNEL, ["source"], history=2)], time_scale=20.0)


async def test_command_removes_a_crashed_runs_temp_file_at_start(
    sim_cache: Path, tmp_path: Path
) -> None:
    # A temp file left by a crashed run an hour ago: the command removes it at start-up. A
    # young one may be a live backfiller's (sharing the store): it stays.
    crashed = tmp_path / "store" / CHANNEL / "source" / "2020-01-01T00"
    crashed.mkdir(parents=True)
    stale = crashed / "00:00.000000-2.0-temp-0f8fad5b-d9cb-469f-a165-70867728950e.ts"
    stale.write_bytes(b"half a segment")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    live = crashed / "00:02.000000-2.0-temp-1f8fad5b-d9cb-469f-a165-70867728950e.ts"
    live.write_bytes(b"a backfiller is writing this")
    async with Simulator(command_config(sim_cache)) as sim, download_command(sim, tmp_path) as cmd:
        await logged(cmd, rf"recording {CHANNEL}!")  # logged once the store is tidied
        assert not stale.exists()
        assert live.exists()
        await until(lambda: bool(cmd.files()))  # and it records as usual
        assert not stale.exists()
        assert live.exists()


async def test_command_metrics_count_what_it_stored(sim_cache: Path, tmp_path: Path) -> None:
    async with Simulator(command_config(sim_cache)) as sim, download_command(sim, tmp_path) as cmd:
        await until(lambda: bool(cmd.files()))
        timeline = sim.channel(CHANNEL)
        assert timeline is not None
        first = timeline.next_sequence + 2  # faults in segments the downloader will see
        sim.add_fault(Fault("ad_break", channel=CHANNEL, marking="amazon",
                            from_sequence=first, to_sequence=first + 2))  # fmt: skip
        sim.add_fault(Fault("segment_status", channel=CHANNEL, sequence=first + 5, status=404))
        sim.add_fault(Fault("skew", channel=CHANNEL, sequence=first + 8, skew_seconds=0.5))
        last = first + 12
        await until(lambda: max(s.start for s in cmd.files()) >= timeline.start_of(last))
        sim.set_online(CHANNEL, False)  # nothing new: counts can settle
        seen: dict[str, Any] = {}

        async def settled() -> bool:
            # the stream seen down, nothing in flight, and the page counting every full segment
            # on disk: what the page says from then on holds still
            text = await cmd.scrape()
            full = [s for s in cmd.files() if s.type == "full"]
            values = metric_values(text, CHANNEL)
            seen.update(values=values, files=cmd.files(), full=full)
            return (
                value(values, "streamvault_channel_up", channel=CHANNEL, important="true") == 0
                and not temp_files(cmd.store)
                and value(values, "streamvault_segments_downloaded_total", type="full", **LABELS)
                == len(full)
            )

        await until_async(settled, lambda: f"the counts to settle: {seen.get('values')}")
    values, files, full = seen["values"], seen["files"], seen["full"]
    assert len(full) >= 10
    assert value(values, "streamvault_segments_downloaded_total", type="full", **LABELS) == len(
        full
    )
    assert value(
        values, "streamvault_segment_seconds_downloaded_total", type="full", **LABELS
    ) == pytest.approx(2.0 * len(full))
    assert value(values, "streamvault_ad_segments_skipped_total", **LABELS) == 3
    assert value(values, "streamvault_latest_segment", **LABELS) == pytest.approx(
        to_seconds(max(s.start for s in files))
    )
    assert value(values, "streamvault_http_errors_total", endpoint="segment", reason="404") == 1
    for endpoint in ("gql", "usher", "playlist", "segment"):
        assert (
            value(values, "streamvault_http_request_duration_seconds_count", endpoint=endpoint) >= 1
        )
    assert ("streamvault_timestamp_skews_total", tuple(sorted(LABELS.items()))) in values
    assert value(values, "streamvault_timestamp_skews_total", **LABELS) >= 1


async def test_command_sigterm_finishes_downloads_in_flight(
    sim_cache: Path, tmp_path: Path
) -> None:
    async with Simulator(command_config(sim_cache)) as sim, download_command(sim, tmp_path) as cmd:
        await until(lambda: bool(cmd.files()))
        timeline = sim.channel(CHANNEL)
        assert timeline is not None
        nxt = timeline.next_sequence
        sim.add_fault(Fault("stall_then_truncate", channel=CHANNEL, from_sequence=nxt,
                            to_sequence=nxt + 40, stall_seconds=30.0))  # fmt: skip
        stalled_from = timeline.start_of(nxt)
        await until(lambda: any(start >= stalled_from for start in temp_starts(cmd.store)), 20)
        cmd.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(cmd.process.wait(), 20)
    log = cmd.log.read_text()
    assert code == 0, log[-3000:]
    assert temp_files(cmd.store) == []
    assert "stopping: waiting for segments in flight" in log
    assert "Unclosed client session" not in log and "Unclosed connector" not in log
    stalled = [s for s in cmd.files() if s.start >= timeline.start_of(nxt)]
    assert stalled  # the in-flight downloads finished and were saved


async def test_important_channel_retries_faster_and_louder(
    sim_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = sim_config(
        sim_cache, [ChannelConfig("imp2", online=False), ChannelConfig("oth2", online=False)]
    )
    async with Simulator(config) as sim:
        with caplog.at_level(logging.DEBUG, logger="streamvault.downloader"):
            async with downloader(sim, tmp_path, ["imp2!", "oth2"], ["source"]):
                await sim_wait(sim, 100)
    down = [r for r in caplog.records if "stream down" in r.getMessage()]
    important = [r for r in down if r.getMessage().startswith("imp2")]
    other = [r for r in down if r.getMessage().startswith("oth2")]
    # the change to down is logged once (INFO if important), each retry after it at DEBUG
    assert [r.levelno for r in important if r.levelno > logging.DEBUG] == [logging.INFO]
    assert {r.levelno for r in other} == {logging.DEBUG}
    assert 16 <= len(important) <= 21  # every 5 s
    assert 4 <= len(other) <= 6  # every 20 s
