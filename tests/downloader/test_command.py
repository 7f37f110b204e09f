"""The real ``streamvault download`` command against the simulator: /metrics and SIGTERM
(issue 8 tests 12 and 14), and important versus other channels while offline (test 2)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamvault.sim import ChannelConfig, Fault, Simulator
from streamvault.timeutil import to_seconds
from tests.helpers import free_port

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


async def test_command_metrics_and_sigterm(sim_cache: Path, tmp_path: Path) -> None:
    config = sim_config(sim_cache, [ChannelConfig("cmd14", ["source"], history=2)], time_scale=20.0)
    port = free_port()
    # A temp file left by a crashed run an hour ago: the command removes it at start-up. A
    # young one may be a live backfiller's (sharing the store): it stays.
    crashed = tmp_path / "store" / "cmd14" / "source" / "2020-01-01T00"
    crashed.mkdir(parents=True)
    stale = crashed / "00:00.000000-2.0-temp-0f8fad5b-d9cb-469f-a165-70867728950e.ts"
    stale.write_bytes(b"half a segment")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    live = crashed / "00:02.000000-2.0-temp-1f8fad5b-d9cb-469f-a165-70867728950e.ts"
    live.write_bytes(b"a backfiller is writing this")
    async with Simulator(config) as sim:
        log_file = (tmp_path / "downloader.log").open("w")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streamvault",
            "download",
            "--base-dir",
            str(tmp_path / "store"),
            "--twitch-gql-url",
            sim.base_url,
            "--twitch-usher-url",
            sim.base_url,
            "--metrics-port",
            str(port),
            "--log-level",
            "DEBUG",
            "--stop-grace",
            "5",
            "cmd14!",
            stdout=log_file,
            stderr=log_file,
        )
        try:
            store = tmp_path / "store"
            await until(lambda: bool(stored(store, "cmd14", "source")))
            assert not stale.exists()
            assert live.exists()
            live.unlink()  # its writer is done with it
            timeline = sim.channel("cmd14")
            assert timeline is not None
            first = timeline.next_sequence + 2  # faults in segments the downloader will see
            sim.add_fault(
                Fault(
                    "ad_break",
                    channel="cmd14",
                    marking="amazon",
                    from_sequence=first,
                    to_sequence=first + 2,
                )
            )
            sim.add_fault(Fault("segment_status", channel="cmd14", sequence=first + 5, status=404))
            sim.add_fault(Fault("skew", channel="cmd14", sequence=first + 8, skew_seconds=0.5))
            last = first + 12
            await until(lambda: max(stored(store, "cmd14", "source")) >= timeline.start_of(last))
            sim.set_online("cmd14", False)  # nothing new: counts can settle
            await asyncio.sleep(1.5)
            url = f"http://127.0.0.1:{port}/metrics"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 200
                text = await response.text()
            files = [
                s for group in stored(tmp_path / "store", "cmd14", "source").values() for s in group
            ]
            values = metric_values(text, "cmd14")
            labels = {"channel": "cmd14", "quality": "source"}
            full = [s for s in files if s.type == "full"]
            assert len(full) >= 10
            assert value(
                values, "streamvault_segments_downloaded_total", type="full", **labels
            ) == len(full)
            assert value(
                values, "streamvault_segment_seconds_downloaded_total", type="full", **labels
            ) == pytest.approx(2.0 * len(full))
            assert value(values, "streamvault_ad_segments_skipped_total", **labels) == 3
            assert value(values, "streamvault_latest_segment", **labels) == pytest.approx(
                to_seconds(max(s.start for s in files))
            )
            assert (
                value(values, "streamvault_http_errors_total", endpoint="segment", reason="404")
                == 1
            )
            for endpoint in ("gql", "usher", "playlist", "segment"):
                assert (
                    value(
                        values, "streamvault_http_request_duration_seconds_count", endpoint=endpoint
                    )
                    >= 1
                )
            assert ("streamvault_timestamp_skews_total", tuple(sorted(labels.items()))) in values

            assert value(values, "streamvault_timestamp_skews_total", **labels) >= 1

            # SIGTERM with downloads in flight: they finish, nothing is left half-written.
            sim.set_online("cmd14", True)
            nxt = timeline.next_sequence
            sim.add_fault(
                Fault(
                    "stall_then_truncate",
                    channel="cmd14",
                    from_sequence=nxt,
                    to_sequence=nxt + 40,
                    stall_seconds=30.0,
                )
            )
            await until(lambda: bool(temp_files(tmp_path / "store")), 20)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            log_file.close()
    log = (tmp_path / "downloader.log").read_text()
    assert code == 0, log[-3000:]
    assert temp_files(tmp_path / "store") == []
    assert "stopping: waiting for segments in flight" in log
    assert "Unclosed client session" not in log and "Unclosed connector" not in log
    stalled = [
        s
        for group in stored(tmp_path / "store", "cmd14", "source").values()
        for s in group
        if s.start >= sim.channel("cmd14").start_of(nxt)
    ]  # type: ignore[union-attr]
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
