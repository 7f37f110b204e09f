"""The deployment files against a real running system.

Two ``streamvault node`` processes — started the way the image starts them, from the image's
``node.toml`` — record the simulated Twitch and backfill from each other: node A records,
node B only backfills from A. Their ``/metrics`` pages are scraped, and every metric the
dashboard and the alert rules use must be on them; the Dockerfile's health check is run
against node A; both nodes must stop cleanly on SIGTERM (what ``docker stop`` and Kubernetes
send).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.store.disk import SegmentStore

from .deployfiles import (
    IMAGE_CONFIG,
    REPO,
    TARGET_LABELS,
    alert_rules,
    dashboard_exprs,
    dockerfile_exec_form,
    exposed_names,
    family_names,
    grouping_labels,
    metric_names,
    sampled_names,
    selectors,
    series_labels,
    used_metric_names,
)

CHANNEL = "alpha"
WAIT = 40.0  # seconds; the whole module takes about 10 on a quiet machine


@dataclass
class LiveRun:
    metrics: dict[str, str] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    maps: list[str] = field(default_factory=list)
    health_up: subprocess.CompletedProcess[str] | None = None
    health_down: subprocess.CompletedProcess[str] | None = None
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    stderr: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def count_segments(base: Path) -> int:
    store = SegmentStore(str(base))
    return sum(
        len(store.segments(CHANNEL, "source", hour).segments)
        for hour in store.hours(CHANNEL, "source")
    )


def node_env(port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMVAULT_")}
    env.update(STREAMVAULT_COVERAGE_INTERVAL="0.5", STREAMVAULT_BACKFILL_INTERVAL="0.5")
    if port is not None:
        env["STREAMVAULT_PORT"] = str(port)
    return env


async def wait_for(predicate: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def start_node(base: Path, port: int, sim_url: str, *extra: str) -> Any:
    # The image's command line (Dockerfile CMD), its node.toml read from the repository, and
    # the per-deployment flags a compose file or StatefulSet adds.
    command = dockerfile_exec_form("CMD")
    command = [str(IMAGE_CONFIG) if a == "/etc/streamvault/node.toml" else a for a in command]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamvault",
        *command,
        "--base-dir",
        str(base),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--channel",
        f"{CHANNEL}!",
        "--twitch-gql-url",
        sim_url,
        "--twitch-usher-url",
        sim_url,
        *extra,
        env=node_env(),
        stdout=subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's HEALTHCHECK command, exactly as written there."""
    return subprocess.run(
        [sys.executable, *dockerfile_exec_form("HEALTHCHECK")[1:]],
        env=node_env(port),
        capture_output=True,
        text=True,
        timeout=30,
    )


async def scrape(session: aiohttp.ClientSession, port: int) -> str:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        return await response.text()


async def stop_all(nodes: dict[str, Any], run: LiveRun) -> None:
    """SIGTERM every node at once, as ``docker compose stop`` does, and collect their ends."""
    for process in nodes.values():
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    ends = await asyncio.gather(
        *(asyncio.wait_for(p.communicate(), 80) for p in nodes.values()), return_exceptions=True
    )
    for (name, process), end in zip(nodes.items(), ends, strict=True):
        if isinstance(end, BaseException):
            process.kill()
            await process.wait()
            run.stderr[name] = f"did not stop within 80 s of SIGTERM: {end!r}"
        else:
            run.stderr[name] = end[1].decode(errors="replace")[-3000:]
        run.exit_codes[name] = process.returncode


async def exercise(tmp: Path, run: LiveRun) -> None:
    config = SimConfig(channels=[ChannelConfig(CHANNEL, ["source"], history=6)])
    ports = {"a": free_port(), "b": free_port()}
    bases = {name: tmp / name for name in ports}
    async with Simulator(config) as sim:
        # B only backfills, from A (it long-polls A's change feed); A records.
        nodes = {
            "b": await start_node(
                bases["b"],
                ports["b"],
                sim.base_url,
                "--no-downloader",
                "--node",
                f"http://127.0.0.1:{ports['a']}",
                "--recent-cutoff",
                "0",
            ),
            "a": await start_node(bases["a"], ports["a"], sim.base_url),
        }
        try:
            await wait_for(lambda: count_segments(bases["a"]) >= 4, "node A to record")
            await wait_for(lambda: count_segments(bases["b"]) >= 3, "node B to backfill")
            maps = bases["a"] / "coverage-maps"
            await wait_for(lambda: maps.is_dir() and any(maps.iterdir()), "coverage maps")
            await asyncio.sleep(1.0)  # one more coverage pass over what is there now
            async with aiohttp.ClientSession() as session:
                for name, port in ports.items():
                    run.metrics[name] = await scrape(session, port)
            run.segments = {name: count_segments(base) for name, base in bases.items()}
            run.maps = sorted(p.name for p in maps.iterdir())
            run.health_up = await asyncio.to_thread(run_healthcheck, ports["a"])
        finally:
            await stop_all(nodes, run)
    run.health_down = await asyncio.to_thread(run_healthcheck, ports["a"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> LiveRun:
    run = LiveRun()
    asyncio.run(exercise(tmp_path_factory.mktemp("live"), run))
    return run


def test_the_nodes_recorded_and_replicated(live: LiveRun) -> None:
    """What the scrape saw is a working system: recording, backfill and coverage all ran."""
    assert live.segments["a"] >= 4 and live.segments["b"] >= 3
    a, b = sampled_names(live.metrics["a"]), sampled_names(live.metrics["b"])
    assert (
        f'streamvault_latest_segment{{channel="{CHANNEL}",quality="source"}}' in (live.metrics["a"])
    )
    assert "streamvault_segments_downloaded_total" in a
    assert "streamvault_backfill_segments_total" in b
    assert "streamvault_coverage_holes" in a and "streamvault_coverage_hour_holes" in a
    assert f"{CHANNEL}_source_coverage.png" in live.maps


def test_every_metric_of_the_dashboard_and_alerts_is_exported(live: LiveRun) -> None:
    exported = exposed_names(live.metrics["a"]) | exposed_names(live.metrics["b"])
    used = used_metric_names()
    assert len(used) >= 15, "the dashboard and alerts should cover every component"
    missing = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert not missing, f"used but not exported by a running node: {missing}"


def test_queries_use_labels_the_metrics_have(live: LiveRun) -> None:
    """A selector or ``by`` on a label the series lacks silently matches nothing (or groups
    everything together); checked for every series the running nodes gave samples of."""
    labels: dict[str, set[str]] = {}
    for text in live.metrics.values():
        for name, names in series_labels(text).items():
            labels.setdefault(name, set()).update(names)
    exprs = [*dashboard_exprs(), *((r["alert"], r["expr"]) for r in alert_rules())]
    checked, wrong = 0, []
    for where, expr in exprs:
        for name, used in selectors(expr):
            if name in labels:
                checked += 1
                if extra := used - labels[name] - TARGET_LABELS:
                    wrong.append(f"{where}: {name} has no label {sorted(extra)}")
        names = metric_names(expr)
        if len(names) == 1 and (name := next(iter(names))) in labels:
            for by in grouping_labels(expr):
                if extra := by - labels[name] - TARGET_LABELS:
                    wrong.append(f"{where}: by {sorted(extra)}, but {name} has no such label")
    assert checked >= 10
    assert not wrong, "\n".join(wrong)


def test_metrics_reference_names_every_exported_family(live: LiveRun) -> None:
    docs = (REPO / "docs" / "metrics.md").read_text()
    coverage_docs = REPO / "docs" / "metrics-coverage.md"
    if coverage_docs.exists():
        docs += coverage_docs.read_text()
    families = family_names(live.metrics["a"]) | family_names(live.metrics["b"])
    ours = {name for name in families if name.startswith("streamvault_")}
    assert ours
    undocumented = sorted(name for name in ours if f"`{name}" not in docs)
    assert not undocumented, f"docs/metrics.md does not describe: {undocumented}"
    assert "metrics-coverage.md" in (REPO / "docs" / "metrics.md").read_text()


def test_docker_healthcheck_follows_the_restreamer(live: LiveRun) -> None:
    assert live.health_up is not None and live.health_up.returncode == 0, live.health_up
    assert live.health_down is not None and live.health_down.returncode != 0


def test_nodes_stop_cleanly_on_sigterm(live: LiveRun) -> None:
    for name, code in live.exit_codes.items():
        assert code == 0, f"node {name} exited {code}:\n{live.stderr[name]}"
        assert "node stopped" in live.stderr[name]
