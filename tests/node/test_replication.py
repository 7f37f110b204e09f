"""A node that records nothing gets its peer's new segments at once: the recent cut-off holds
only where a local downloader records the stream (SPEC §8)."""

from __future__ import annotations

from pathlib import Path

from streamvault.node.runtime import Node
from streamvault.sim import ChannelConfig, SimConfig, Simulator
from streamvault.store.disk import SegmentStore

from .simnode import sim_node_config
from .test_node import wait_for


async def test_a_node_without_a_recorder_is_not_a_cutoff_behind(tmp_path: Path) -> None:
    config = SimConfig(channels=[ChannelConfig("alpha", ["source"], history=3)], time_scale=10.0)
    async with Simulator(config) as sim:
        recorder = sim_node_config(sim, tmp_path / "a")
        async with Node(recorder, clock=sim.clock) as a:
            mirror = sim_node_config(
                sim, tmp_path / "b", downloader=False, backfiller=True, nodes=[a.url]
            )
            async with Node(mirror, clock=sim.clock) as b:
                store = SegmentStore(b.store.base_dir)
                ages: list[float] = []

                def young_copy() -> bool:
                    for hour in store.hours("alpha", "source"):
                        for segment in store.segments("alpha", "source", hour).segments:
                            ages.append((sim.clock.now() - segment.end).total_seconds())
                    return any(age < 20 for age in ages)  # the cut-off is 60 (sim) seconds

                await wait_for(young_copy, timeout=30)
