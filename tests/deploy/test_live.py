"""The deployment files against a real running system: the compose cluster, for real.

Three ``streamvault node`` processes run the exact command lines of
``deploy/compose/cluster.yml`` (the image's ``node.toml`` read from the repository; compose's
host names mapped to loopback ports; the store, the listening address and the simulated
Twitch's URLs added). The simulated Twitch makes each node lose a different segment (a 404 on
that node only), so each node's hole can only be healed from its peers. A fourth node runs the
Kubernetes StatefulSet's container args with the ConfigMap's ``node.toml`` and finds its peer
through ``--node-dns``, as pods find each other through the headless service.

Checked against that system: the three archives become identical and complete; every metric
name and label the dashboard and the alert rules use is on the nodes' ``/metrics`` pages, and
the metrics reference describes every family there; the Dockerfile's health check passes on a
running node and fails on a stopped one; every node stops cleanly on SIGTERM (what
``docker compose stop`` and Kubernetes send).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from streamvault.sim import ChannelConfig, Fault, SimConfig, Simulator
from streamvault.store.disk import SegmentStore

from .deployfiles import (
    COMPOSE_CLUSTER,
    IMAGE_CONFIG,
    REPO,
    REQUIRED_VALUES,
    TARGET_LABELS,
    alert_rules,
    compose,
    dashboard_exprs,
    dockerfile_exec_form,
    exposed_names,
    family_names,
    grouping_labels,
    k8s_object,
    metric_names,
    sampled_names,
    selectors,
    series_labels,
    used_metric_names,
)

CHANNEL = REQUIRED_VALUES["STREAMVAULT_CHANNEL"].rstrip("!")
#: Segments already published when the nodes start: 90 s of stream, so the oldest are past the
#: backfiller's default 60 s recent cutoff and are copied as soon as a peer has them.
HISTORY = 45
LOST = {"node-a": 3, "node-b": 5, "node-c": 7}  # the sequence each node cannot download
WAIT = 45.0  # seconds; the whole module takes about 10 on a quiet machine


@dataclass
class LiveRun:
    metrics: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[int]] = field(default_factory=dict)
    maps: list[str] = field(default_factory=list)
    health_up: subprocess.CompletedProcess[str] | None = None
    health_down: subprocess.CompletedProcess[str] | None = None
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    stderr: dict[str, str] = field(default_factory=dict)


def stored_hashes(base: Path) -> set[str]:
    store = SegmentStore(str(base))
    return {
        segment.hash
        for hour in store.hours(CHANNEL, "source")
        for segment in store.segments(CHANNEL, "source", hour).segments
    }


def node_env(port: int | None = None) -> dict[str, str]:
    """The test's environment without STREAMVAULT_* settings, with quick passes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMVAULT_")}
    env.update(STREAMVAULT_COVERAGE_INTERVAL="0.5", STREAMVAULT_BACKFILL_INTERVAL="1")
    if port is not None:
        env["STREAMVAULT_PORT"] = str(port)
    return env


async def wait_for(predicate: Callable[[], bool], what: str | Callable[[], str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, (
            f"timed out waiting for {what if isinstance(what, str) else what()}"
        )
        await asyncio.sleep(0.2)


def cluster_commands(ports: dict[str, int]) -> dict[str, list[str]]:
    """Each node's command from the compose file, its peers' host names mapped to ports."""
    commands = {}
    for name, service in compose(COMPOSE_CLUSTER)["services"].items():
        if name not in ports:
            continue
        args = [str(a) for a in service["command"]]
        for peer, port in ports.items():
            args = [a.replace(f"http://{peer}:8000", f"http://127.0.0.1:{port}") for a in args]
        commands[name] = [
            str(IMAGE_CONFIG) if a == "/etc/streamvault/node.toml" else a for a in args
        ]
    assert set(commands) == set(ports), "the compose cluster's nodes changed"
    return commands


def pod_command(tmp: Path, peer_port: int) -> list[str]:
    """The StatefulSet's container args with the ConfigMap's node.toml: a fourth node that
    finds its peer through ``--node-dns`` (here ``localhost``, whose A record is node-a's
    address, as the headless service's are the pods'). It only backfills the test's channel.
    """
    config = tmp / "configmap-node.toml"
    config.write_text(k8s_object("ConfigMap")["data"]["node.toml"])
    (container,) = k8s_object("StatefulSet")["spec"]["template"]["spec"]["containers"]
    replace = {
        "/etc/streamvault/node.toml": str(config),
        "streamvault-peers": f"localhost:{peer_port}",
        "$(POD_IP)": "10.1.2.3",
    }
    args = [replace.get(a, a) for a in container["args"]]
    # Without a downloader of its own it must also take the newest segments at once.
    return [*args, "--channel", CHANNEL, "--no-downloader", "--recent-cutoff", "0"]


@dataclass
class NodeProcess:
    """A ``streamvault node`` child listening on the port it chose (``--port 0``), which its
    "node up" log line names; its stderr is read as it comes (a full pipe would stall it)."""

    process: asyncio.subprocess.Process
    port: asyncio.Future[int]
    stderr: list[bytes] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line)
            up = re.search(rb"node up: restreamer on http://127\.0\.0\.1:(\d+)", line)
            if up and not self.port.done():
                self.port.set_result(int(up[1]))
        if not self.port.done():
            self.port.set_exception(AssertionError(f"node exited: {self.text()[-3000:]}"))

    def text(self) -> str:
        return b"".join(self.stderr).decode(errors="replace")


async def start_node(args: list[str], base: Path, sim_url: str) -> NodeProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamvault",
        *args,
        *("--base-dir", str(base), "--host", "127.0.0.1", "--port", "0"),
        *("--twitch-gql-url", sim_url, "--twitch-usher-url", sim_url),
        env=node_env(),
        stdout=subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    node = NodeProcess(process, asyncio.get_running_loop().create_future())
    node.reader = asyncio.create_task(node.read_stderr())
    return node


class HostName:
    """What compose's network gives a service: an address the peers know before the service
    starts. Here a loopback listener of the test's own (port 0, so no other test can take
    it) that forwards each connection to the node's port once the node has said it."""

    def __init__(self) -> None:
        self.target: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._forward, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            port = await asyncio.wait_for(asyncio.shield(self.target), WAIT)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except (OSError, TimeoutError):
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


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


async def stop_all(nodes: dict[str, NodeProcess], run: LiveRun) -> None:
    """SIGTERM every node at once, as ``docker compose stop`` does, and collect their ends."""
    for node in nodes.values():
        if node.process.returncode is None:
            node.process.send_signal(signal.SIGTERM)
    ends = await asyncio.gather(
        *(asyncio.wait_for(n.process.wait(), 80) for n in nodes.values()), return_exceptions=True
    )
    for (name, node), end in zip(nodes.items(), ends, strict=True):
        if isinstance(end, BaseException):
            node.process.kill()
            await node.process.wait()
        assert node.reader is not None
        await node.reader
        run.stderr[name] = node.text()[-3000:]
        if isinstance(end, BaseException):
            run.stderr[name] += f"\ndid not stop within 80 s of SIGTERM: {end!r}"
        run.exit_codes[name] = node.process.returncode


def sim_config() -> SimConfig:
    faults = [
        Fault("segment_status", channel=CHANNEL, node=node, sequence=sequence, status=404)
        for node, sequence in LOST.items()
    ]
    channel = ChannelConfig(CHANNEL, ["source"], history=HISTORY)
    return SimConfig(channels=[channel], window=HISTORY + 15, faults=faults)


def coverage_published(metrics: dict[str, str]) -> bool:
    """Every recording node's page has the coverage figures of a pass."""
    return all(
        {"streamvault_coverage_holes", "streamvault_coverage_hour_holes"} <= sampled_names(text)
        for name, text in metrics.items()
        if name != "pod"
    )


async def exercise(tmp: Path, run: LiveRun) -> None:
    names = [*LOST, "pod"]
    hosts = {name: HostName() for name in names}
    for host in hosts.values():
        await host.start()
    bases = {name: tmp / name for name in names}
    nodes: dict[str, NodeProcess] = {}
    async with Simulator(sim_config()) as sim:
        wanted = {
            p.sequence: p.data_hash
            for p in sim.published(CHANNEL, "source")
            if p.sequence < HISTORY
        }
        assert len(wanted) == HISTORY
        commands = cluster_commands({name: hosts[name].port for name in LOST})
        commands["pod"] = pod_command(tmp, hosts["node-a"].port)

        def complete() -> bool:
            held = {name: stored_hashes(base) for name, base in bases.items()}
            run.missing = {
                name: sorted(seq for seq, h in wanted.items() if h not in hashes)
                for name, hashes in held.items()
            }
            return not any(run.missing.values())

        ports: dict[str, int] = {}
        try:
            for name in names:
                nodes[name] = await start_node(commands[name], bases[name], sim.node_url(name))
            for name, node in nodes.items():
                ports[name] = await asyncio.wait_for(asyncio.shield(node.port), WAIT)
                hosts[name].target.set_result(ports[name])
            await wait_for(complete, lambda: f"every node to hold every segment: {run.missing}")
            maps = bases["node-a"] / "coverage-maps"
            await wait_for(lambda: maps.is_dir() and any(maps.iterdir()), "coverage maps")
            deadline = asyncio.get_running_loop().time() + WAIT
            async with aiohttp.ClientSession() as session:
                while True:  # until a coverage pass has published its figures everywhere
                    for name, port in ports.items():
                        run.metrics[name] = await scrape(session, port)
                    if coverage_published(run.metrics):
                        break
                    assert asyncio.get_running_loop().time() < deadline, (
                        "timed out waiting for every node's coverage figures"
                    )
                    await asyncio.sleep(0.2)
            run.maps = sorted(p.name for p in maps.iterdir())
            run.health_up = await asyncio.to_thread(run_healthcheck, ports["node-a"])
        finally:
            await stop_all(nodes, run)
            for host in hosts.values():
                await host.close()
    run.health_down = await asyncio.to_thread(run_healthcheck, ports["node-a"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> LiveRun:
    run = LiveRun()
    asyncio.run(exercise(tmp_path_factory.mktemp("live"), run))
    return run


def test_the_cluster_heals_each_nodes_loss(live: LiveRun) -> None:
    """Each node lost a different segment and holds it now: backfill from its peers healed
    it. What the scrape saw is a working system: recording, backfill and coverage all ran."""
    assert live.missing == {name: [] for name in [*LOST, "pod"]}
    for name, text in live.metrics.items():
        sampled = sampled_names(text)
        if name == "pod":
            assert "streamvault_backfill_segments_total" in sampled
            continue
        assert f'streamvault_latest_segment{{channel="{CHANNEL}",quality="source"}}' in text
        assert 'reason="gone"' in text, f"{name} never lost its segment: the fault missed"
        assert "streamvault_backfill_segments_total" in sampled, f"{name} copied nothing"
        assert (
            "streamvault_coverage_holes" in sampled and "streamvault_coverage_hour_holes" in sampled
        )
    assert f"{CHANNEL}_source_coverage.png" in live.maps


def test_every_metric_of_the_dashboard_and_alerts_is_exported(live: LiveRun) -> None:
    exported = set().union(*(exposed_names(text) for text in live.metrics.values()))
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
    families = set().union(*(family_names(text) for text in live.metrics.values()))
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
