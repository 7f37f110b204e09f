"""``streamvault sim``: run a simulated Twitch until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from ..cliargs import comma_list
from ..errors import ConfigError
from .config import MASTER_STYLES, ChannelConfig, SimConfig
from .emotes import emotes_url
from .faults import parse_scenario
from .simulator import Simulator

HELP = "run a simulated Twitch (API, usher, CDN) with real video and scriptable faults"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--channels", type=comma_list, default="alpha", help="channel names")
    parser.add_argument(
        "--qualities", type=comma_list, default="source,480p",
        help="qualities every channel offers (downloader names: source, 720p60, 480p, ...)",
    )  # fmt: skip
    parser.add_argument(
        "--master-style", type=comma_list, default="media",
        help=f"master playlist style per channel, one of {MASTER_STYLES}; the last one repeats",
    )  # fmt: skip
    parser.add_argument("--scenario", type=Path, default=None, help="TOML file of [[fault]]s")
    parser.add_argument("--time-scale", type=float, default=1.0, help="sim seconds per second")
    parser.add_argument("--segment-duration", type=float, default=2.0, help="seconds")
    parser.add_argument("--window", type=int, default=30, help="segments per live playlist")
    parser.add_argument("--history", type=int, default=0, help="segments already live at start")
    parser.add_argument(
        "--playlist-url-max-age", type=float, default=20 * 3600.0, help="sim seconds"
    )
    parser.add_argument("--segment-url-max-age", type=float, default=300.0, help="sim seconds")
    parser.add_argument(
        "--realistic-bitrate", action="store_true", help="pad segments to about 6 Mbps"
    )
    parser.add_argument("--cache-dir", default=None, help="where rendered video is cached")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a self-signed certificate")
    parser.add_argument(
        "--chat-port",
        type=int,
        default=0,
        help="port of the IRC chat server (0: any free one, printed)",
    )
    parser.add_argument("--no-chat", action="store_true", help="no chat server")
    parser.add_argument(
        "--chat-rate", type=float, default=5.0, help="chat messages per sim second per channel"
    )
    parser.add_argument(
        "--chat-duplicate-every", type=int, default=0,
        help="deliver every Nth chat message twice (0: never)",
    )  # fmt: skip


def config_from_args(args: argparse.Namespace) -> SimConfig:
    styles = list(args.master_style)
    for style in styles:
        if style not in MASTER_STYLES:
            raise ConfigError(f"unknown master style {style!r}")
    channels = [
        ChannelConfig(
            name=name,
            qualities=list(args.qualities),
            master_style=styles[min(i, len(styles) - 1)],
            history=args.history,
        )
        for i, name in enumerate(args.channels)
    ]
    faults = parse_scenario(args.scenario.read_text()) if args.scenario else []
    return SimConfig(
        channels=channels,
        segment_duration=args.segment_duration,
        time_scale=args.time_scale,
        playlist_url_max_age=args.playlist_url_max_age,
        segment_url_max_age=args.segment_url_max_age,
        window=args.window,
        realistic_bitrate=args.realistic_bitrate,
        cache_dir=args.cache_dir,
        tls=args.tls,
        faults=faults,
        chat_port=None if args.no_chat else args.chat_port,
        chat_rate=args.chat_rate,
        chat_duplicate_every=args.chat_duplicate_every,
    )


def describe(sim: Simulator) -> str:
    """The lines ``streamvault sim`` prints so a downloader can be pointed at it."""
    flags = f"--twitch-gql-url {sim.base_url} --twitch-usher-url {sim.base_url}"
    if sim.ca_file:
        flags += f" --ca-file {sim.ca_file}"
    lines = [f"simulated Twitch at {sim.base_url}", f"downloader flags: {flags}"]
    lines.append(f"per-node faults: use {sim.node_url('NAME')} as both URLs")
    lines.append(f"control: {sim.base_url}/control/counters, {sim.base_url}/control/faults")
    if sim.chat is not None:
        lines.append(
            f"chat: IRC on 127.0.0.1:{sim.chat.port} (streamvault chat --irc-host 127.0.0.1 "
            f"--irc-port {sim.chat.port} --no-tls CHANNEL); faults: POST "
            f"{sim.base_url}/control/chat/disconnect or /control/chat/reconnect [?nick=NICK]"
        )
        lines.append(f"emotes: --emotes --emotes-url '{emotes_url(sim.base_url)}'")
    for channel in sim.config.channels:
        state = "online" if channel.online else "offline"
        qualities = ",".join(channel.qualities)
        lines.append(f"channel {channel.name}: {qualities} ({channel.master_style} style, {state})")
    return "\n".join(lines)


async def serve(config: SimConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sim = Simulator(config)
    await sim.start(host=host, port=port)
    try:
        print(describe(sim), flush=True)
        await stop.wait()
    finally:
        await sim.stop()


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except (ConfigError, OSError) as err:
        print(f"streamvault sim: {err}")
        return 2
    asyncio.run(serve(config, args.host, args.port))
    return 0
