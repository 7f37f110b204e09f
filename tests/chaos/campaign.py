"""A chaos campaign: the simulator and three ``streamvault node`` processes, each node in its
own network namespace, through a schedule of faults; then healing, and a verdict.

Run inside the hub namespace (the simulator listens on the bridge there)::

    ip netns exec PREFIX-hub python -m tests.chaos.campaign SPEC.json

``SPEC.json`` names the network (:class:`~tests.chaos.netns.Network`), the base directory of
each node, the time scale and the schedule; the result is one JSON line on stdout. The test
(``tests/chaos``) and the soak (``bench/soak.py``) both drive this.

Fault kinds: ``partition`` (iptables), ``lossy`` (random drop and a slow link), ``kill``
(``kill -9`` while a segment is being written, restart after the fault's span), ``clock``
(restart with the clock ``offset`` seconds off, and back at the end), ``disk_full`` (fill the
node's small tmpfs, free it at the end), ``truncate`` (the simulator answers that node's
segments cleanly but short).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from streamvault.clock import ScaledClock
from streamvault.sim import ChannelConfig, Fault, SimConfig, Simulator
from tests.helpers import polled

from .netns import Network
from .verdict import judge, read_node

CHANNEL = "chaos"
QUALITY = "source"
PORT = 8000  # every node is alone in its namespace: no other process can hold this port


@dataclass(frozen=True)
class Step:
    at: float  # sim seconds after the nodes are up
    kind: str
    node: str
    span: float  # sim seconds until it is undone
    options: dict[str, Any] = field(default_factory=dict)


#: The campaign the test runs (sim seconds; at a time scale of 4, about two and a half minutes).
CHAOS: tuple[Step, ...] = (
    Step(20, "partition", "a", 120),
    Step(40, "truncate", "c", 120, {"fraction": 0.6}),  # a is cut off: ties, the prefix rule
    Step(170, "lossy", "b", 110, {"loss": 0.1, "rate": "3mbit"}),
    Step(290, "kill", "b", 12),
    Step(310, "clock", "b", 130, {"offset": -150.0}),
    Step(320, "disk_full", "c", 100),
)
END = 450.0  # sim seconds: every fault is undone by then


@dataclass
class NodeProcess:
    name: str
    base_dir: str
    log_path: str
    process: asyncio.subprocess.Process | None = None
    offset: float = 0.0
    rss: list[tuple[float, int]] = field(default_factory=list)  # (real seconds, kB)


class Campaign:
    def __init__(self, spec: dict[str, Any]) -> None:
        net = spec["network"]
        self.network = Network(net["prefix"], net["subnet"], tuple(net["names"]))
        self.scale = float(spec["scale"])
        self.epoch = float(spec["epoch"])
        self.root = spec["root"]
        self.nodes = {
            name: NodeProcess(name, spec["dirs"][name], os.path.join(self.root, f"{name}.log"))
            for name in self.network.names
        }
        self.schedule = [Step(**step) for step in spec["schedule"]]
        self.end = float(spec["end"])
        self.cache_dir = spec.get("cache_dir")
        # sim seconds a node leaves a new segment to its own downloader: a copy of a short
        # version that lands before the node's own download makes that node vote for both
        self.recent_cutoff = float(spec.get("recent_cutoff", 8.0))
        self.injected: Counter[str] = Counter()
        self.events: list[str] = []
        self.started = time.monotonic()
        self.sim: Simulator | None = None
        self.http: aiohttp.ClientSession | None = None
        self._truncations: dict[str, Fault] = {}
        self._killed_mid_write = 0
        self._first_listed: int | None = None

    # --- nodes ------------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://{self.network.address(name)}:{PORT}"

    async def start_node(self, name: str, offset: float = 0.0) -> None:
        assert self.sim is not None
        node = self.nodes[name]
        node.offset = offset
        source = self.sim.node_url(name)
        args = [
            *self.network.exec_prefix(name), sys.executable, "-m", "streamvault", "node",
            "--base-dir", node.base_dir, "--channel", CHANNEL, "--qualities", QUALITY,
            "--host", "0.0.0.0", "--port", str(PORT), "--localhost", self.url(name),
            "--twitch-gql-url", source, "--twitch-usher-url", source,
            "--recent-cutoff", str(self.recent_cutoff),
            *(arg for peer in self.network.names if peer != name
              for arg in ("--node", self.url(peer))),
        ]  # fmt: skip
        env = {
            **os.environ,
            "STREAMVAULT_TIME_SCALE": str(self.scale),
            "STREAMVAULT_TIME_EPOCH": str(self.epoch),
            "STREAMVAULT_CLOCK_OFFSET": str(offset),
            "STREAMVAULT_BACKFILL_INTERVAL": "4",
            "STREAMVAULT_COVERAGE_INTERVAL": "120",
        }
        log = await asyncio.to_thread(open, node.log_path, "ab")
        try:
            node.process = await asyncio.create_subprocess_exec(
                *args, stdout=log, stderr=log, env=env, start_new_session=True
            )
        finally:
            log.close()  # the child holds its own descriptor
        await self.wait_up(name)
        if self._first_listed is None:
            # segments that left the live playlist before any node was up: nobody could get them
            timeline = self.sim.channel(CHANNEL)
            assert timeline is not None
            self._first_listed = self.sim.live_sequence(timeline) - self.sim.config.window
        self.events.append(f"{self.now():.0f}: node {name} up (clock offset {offset:+.0f} s)")

    async def wait_up(self, name: str, timeout: float = 60.0) -> None:
        assert self.http is not None
        node = self.nodes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process is not None and node.process.returncode is not None:
                raise RuntimeError(f"node {name} exited; see {node.log_path}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.http.get(f"{self.url(name)}/files", timeout=2) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"node {name} did not come up; see {node.log_path}")

    async def stop_node(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.nodes[name].process
        if process is None or process.returncode is not None:
            return
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def kill_mid_write(self, name: str) -> None:
        """``kill -9`` while a segment is being written (a temp file exists), or after 30 s.

        The node's next segments stall halfway through their body until the kill, so that
        a download is under way when it comes: without the stall a temp file lives a few
        milliseconds, and a loaded machine's polling missed them all."""
        assert self.sim is not None
        timeline = self.sim.channel(CHANNEL)
        assert timeline is not None
        live = self.sim.live_sequence(timeline)
        stall = Fault("stall_then_truncate", CHANNEL, QUALITY, name, from_sequence=live,
                      to_sequence=live + 3, stall_seconds=120.0)  # fmt: skip
        self.sim.add_fault(stall)
        node = self.nodes[name]
        try:
            await polled(lambda: bool(_temp_files(node.base_dir)), 30, 0.01)
            self._killed_mid_write += bool(_temp_files(node.base_dir))
            await self.stop_node(name, signal.SIGKILL)
        finally:
            self.sim.remove_fault(stall)

    def sample_rss(self) -> None:
        for node in self.nodes.values():
            if node.process is None or node.process.returncode is not None:
                continue
            with contextlib.suppress(OSError), open(f"/proc/{node.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        node.rss.append((time.monotonic() - self.started, int(line.split()[1])))

    # --- faults -----------------------------------------------------------------------------

    def now(self) -> float:
        """Sim seconds since the campaign started."""
        return (time.monotonic() - self.started) * self.scale

    async def begin(self, step: Step) -> None:
        self.injected[step.kind] += 1
        self.events.append(f"{self.now():.0f}: {step.kind} on {step.node} for {step.span:.0f} s")
        if step.kind == "partition":
            self.network.partition(step.node)
        elif step.kind == "lossy":
            self.network.lossy(step.node, step.options.get("loss", 0.1),
                               step.options.get("rate", "3mbit"))  # fmt: skip
        elif step.kind == "kill":
            await self.kill_mid_write(step.node)
        elif step.kind == "clock":
            await self.stop_node(step.node)
            await self.start_node(step.node, float(step.options.get("offset", -150.0)))
        elif step.kind == "disk_full":
            await asyncio.to_thread(_fill, self.nodes[step.node].base_dir)
        elif step.kind == "truncate":
            assert self.sim is not None
            timeline = self.sim.channel(CHANNEL)
            assert timeline is not None
            fault = Fault("truncate", CHANNEL, QUALITY, step.node,
                          from_sequence=self.sim.live_sequence(timeline),
                          truncate_fraction=float(step.options.get("fraction", 0.6)))  # fmt: skip
            self._truncations[step.node] = fault
            self.sim.add_fault(fault)
        else:
            raise ValueError(f"unknown fault kind {step.kind!r}")

    async def finish(self, step: Step) -> None:
        self.events.append(f"{self.now():.0f}: {step.kind} on {step.node} undone")
        if step.kind in ("partition", "lossy"):
            self.network.heal(step.node)
        elif step.kind == "kill":
            await self.start_node(step.node, self.nodes[step.node].offset)
        elif step.kind == "clock":
            await self.stop_node(step.node)
            await self.start_node(step.node, 0.0)
        elif step.kind == "disk_full":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.nodes[step.node].base_dir, ".fill"))
        elif step.kind == "truncate" and self.sim is not None:
            self.sim.remove_fault(self._truncations.pop(step.node))

    async def play(self) -> None:
        events = sorted(
            [(s.at, 1, i, s) for i, s in enumerate(self.schedule)]
            + [(s.at + s.span, 0, i, s) for i, s in enumerate(self.schedule)],
            key=lambda e: (e[0], e[1], e[2]),
        )
        for at, begins, _, step in events:
            while self.now() < at:
                self.sample_rss()
                await asyncio.sleep(min(1.0, (at - self.now()) / self.scale))
            await (self.begin(step) if begins else self.finish(step))
        while self.now() < self.end:
            self.sample_rss()
            await asyncio.sleep(min(1.0, (self.end - self.now()) / self.scale))

    # --- the whole run ----------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        clock = ScaledClock.anchored(self.scale, self.epoch)
        config = SimConfig(
            channels=[ChannelConfig(CHANNEL, [QUALITY], history=2)],
            time_scale=self.scale,
            cache_dir=self.cache_dir,
        )
        sim = Simulator(config, clock)
        await sim.start(host=self.network.hub_address, port=0)
        try:
            async with aiohttp.ClientSession() as http:
                self.sim, self.http = sim, http
                try:
                    return await self._run(sim)
                finally:
                    for name in self.nodes:
                        await self.stop_node(name, signal.SIGKILL)
        finally:
            await sim.stop()

    async def _run(self, sim: Simulator) -> dict[str, Any]:
        await asyncio.gather(*(self.start_node(name) for name in self.nodes))
        self.started = time.monotonic()
        await self.play()
        for name in self.network.names:
            self.network.heal(name)
        sim.set_online(CHANNEL, False)  # the stream ends; what was sent must be everywhere
        self.events.append(f"{self.now():.0f}: stream offline; healing")
        converged = await self.converge(sim)
        self.sample_rss()
        decided = await self.scrape_decisions()
        for name in self.nodes:
            await self.stop_node(name)  # graceful: no temp file may be left behind
        verdict = self.judge(sim)
        return {
            **verdict.to_json(),
            "converged_after_s": converged,
            "faults_injected": dict(self.injected),
            "sim_faults_applied": sim.counters["faults_applied"],
            "killed_mid_write": self._killed_mid_write,
            "disagreements": decided,
            "rss_kb": {
                n.name: [n.rss[0][1], n.rss[-1][1]] if n.rss else [] for n in self.nodes.values()
            },
            "rss_series_kb": {n.name: n.rss for n in self.nodes.values()},
            "events": self.events,
        }

    def judge(self, sim: Simulator) -> Any:
        published = sim.published(CHANNEL, QUALITY)
        truth = {p.program_date_time: p.data_hash for p in published}
        sequences = {p.program_date_time: p.sequence for p in published}
        nodes = {name: read_node(node.base_dir, CHANNEL) for name, node in self.nodes.items()}

        def sim_time(mtime: float) -> float:
            return self.epoch + (mtime - self.epoch) * self.scale

        first = self._first_listed or 0
        unreachable = {p.program_date_time for p in published if p.sequence < first}
        return judge(
            nodes, truth, lambda start: sim.segment_bytes(CHANNEL, QUALITY, sequences[start]),
            sim_time, unreachable,
        )  # fmt: skip

    async def converge(self, sim: Simulator, timeout: float = 150.0) -> float | None:
        """Real seconds until every node lists the same names three checks in a row."""
        started = time.monotonic()
        same = 0
        while time.monotonic() - started < timeout:
            self.sample_rss()
            views = [read_node(n.base_dir, CHANNEL).visible for n in self.nodes.values()]
            same = same + 1 if all(v == views[0] for v in views) and views[0] else 0
            if same >= 3:
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(2.0)
        return None

    async def scrape_decisions(self) -> dict[str, dict[str, float]]:
        assert self.http is not None
        found: dict[str, dict[str, float]] = {}
        for name in self.nodes:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.http.get(f"{self.url(name)}/metrics", timeout=5) as response:
                    text = await response.text()
                found[name] = _samples(text, "streamvault_hash_disagreements_total")
                found[name] |= {
                    "hidden": sum(_samples(text, "streamvault_hash_consensus_tombstones_total")
                                  .values()),
                }  # fmt: skip
        return found


def _samples(text: str, metric: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(metric):
            labels, _, value = line.rpartition(" ")
            found[labels[len(metric) :] or "total"] = float(value)
    return found


def _temp_files(base_dir: str) -> list[str]:
    found = []
    for root, _dirs, names in os.walk(base_dir):
        found.extend(os.path.join(root, n) for n in names if "-temp-" in n)
    return found


def _fill(base_dir: str) -> None:
    """Write a hidden file until the node's disk is full."""
    chunk = b"\0" * (1 << 20)
    fd = os.open(os.path.join(base_dir, ".fill"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, chunk)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def main() -> int:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    result = asyncio.run(Campaign(spec).run())
    print(json.dumps(result), flush=True)
    return 0


def spec_for(
    network: Network, root: str, dirs: dict[str, str], scale: float,
    schedule: tuple[Step, ...] | list[Step], end: float, cache_dir: str | None = None,
    recent_cutoff: float = 8.0,
) -> dict[str, Any]:  # fmt: skip
    return {
        "network": {"prefix": network.prefix, "subnet": network.subnet, "names": network.names},
        "root": root,
        "dirs": dirs,
        "scale": scale,
        "epoch": time.time(),
        "schedule": [asdict(step) for step in schedule],
        "end": end,
        "cache_dir": cache_dir,
        "recent_cutoff": recent_cutoff,
    }


if __name__ == "__main__":
    sys.exit(main())
