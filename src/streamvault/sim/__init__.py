"""A simulated Twitch (SPEC §10): GraphQL token, usher and CDN on one port, with real MPEG-TS
video and scriptable faults.

    from streamvault.sim import ChannelConfig, Fault, SimConfig, Simulator

    config = SimConfig([ChannelConfig("alpha", ["source", "480p"])], time_scale=10.0)
    async with Simulator(config) as sim:
        sim.add_fault(Fault("segment_status", "alpha", "source", sequence=12, status=404))
        ...  # point a downloader at sim.base_url
        sim.published("alpha", "source")  # what it should have stored, with hashes

A :class:`World` is the simulated Twitch without a server (timelines, faults, counters,
video), made and driven on any clock; a :class:`Simulator` is a world served on one port.

Modules, in import order: ``config`` (values), ``faults`` (fault model, TOML scenarios),
``playlists`` (rendering), ``video`` (ffmpeg render and cache; the MPEG-TS timestamp and
counter surgery is :mod:`streamvault.mpegts`), ``footage`` (the segments served), ``signing``
(tokens, URL signatures), ``counters`` (what was seen on the wire), ``world`` (state:
timelines, faults, counters, footage), ``twitch_api`` / ``cdn`` / ``control`` (request
handlers over a world), ``server`` (aiohttp app and site), ``simulator`` (the world served:
lifecycle, chat), ``tls``, ``command`` (``streamvault sim``). ``scenarios/example.toml``
shows every fault kind.
"""

from __future__ import annotations

from .config import ChannelConfig, SimConfig
from .faults import Fault, parse_scenario
from .simulator import Simulator
from .world import PublishedSegment, World

__all__ = [
    "ChannelConfig",
    "Fault",
    "PublishedSegment",
    "SimConfig",
    "Simulator",
    "World",
    "parse_scenario",
]
