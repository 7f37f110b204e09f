"""A simulated Twitch (SPEC §10): GraphQL token, usher and CDN on one port, with real MPEG-TS
video and scriptable faults. ``from streamvault.sim import Simulator, SimConfig, ...``."""

from __future__ import annotations

from .config import ChannelConfig, SimConfig
from .faults import Fault, parse_scenario
from .simulator import PublishedSegment, Simulator

__all__ = [
    "ChannelConfig",
    "Fault",
    "PublishedSegment",
    "SimConfig",
    "Simulator",
    "parse_scenario",
]
