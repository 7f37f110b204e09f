"""The node configuration the node tests share: a node recording the simulator's channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamvault.node.config import NodeConfig
from streamvault.sim import Simulator


def sim_node_config(sim: Simulator, base_dir: Path, **settings: Any) -> NodeConfig:
    """A node recording ``sim``'s channel ``alpha`` into ``base_dir`` and serving on loopback
    on the port it chooses (read ``Node.url``); no backfiller or coverage unless ``settings``
    (any other ``NodeConfig`` fields) turn them on."""
    defaults: dict[str, Any] = {
        "base_dir": str(base_dir),
        "channels": ["alpha"],
        "host": "127.0.0.1",
        "port": 0,
        "twitch_gql_url": sim.base_url,
        "twitch_usher_url": sim.base_url,
        "backfiller": False,
        "coverage": False,
    }
    return NodeConfig(**{**defaults, **settings})
