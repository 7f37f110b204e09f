"""``streamvault node``: every component in one process, configured by one TOML file."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from typing import Any

from ..clock import Clock, OffsetClock, ScaledClock, SystemClock
from ..errors import ConfigError
from ..logs import setup_logging
from .config import NodeConfig, load

log = logging.getLogger(__name__)

HELP = "run the downloader, restreamer, backfiller and coverage in one process"

# flag -> config key; every key is also STREAMVAULT_<KEY> in the environment.
_FLAGS: list[tuple[str, dict[str, Any]]] = [
    ("--base-dir", {"help": "segment store directory"}),
    (
        "--channel",
        {
            "dest": "channels",
            "action": "append",
            "metavar": "CHANNEL[!][:TYPE:URL]",
            "help": "channel to record (repeatable); '!' marks an important one",
        },
    ),
    ("--qualities", {"help": "comma-separated qualities, e.g. source,480p"}),
    ("--host", {"help": "restreamer address (default 0.0.0.0)"}),
    ("--port", {"type": int, "help": "restreamer port (default 8000); serves /metrics too"}),
    (
        "--idle-timeout",
        {"type": float, "help": "seconds a client may take to send a request head (20)"},
    ),
    ("--max-connections", {"type": int, "help": "client connections served at once (4096)"}),
    (
        "--node",
        {
            "dest": "nodes",
            "action": "append",
            "metavar": "URL",
            "help": "a peer restreamer's base URL (repeatable)",
        },
    ),
    ("--node-file", {"help": "file of peers: lines 'NAME URL' or 'URL', # comments"}),
    ("--node-dns", {"help": "DNS name whose A records are peers (Kubernetes headless service)"}),
    ("--localhost", {"help": "this node's own name or URL, left out of the peers"}),
    ("--twitch-gql-url", {"help": "Twitch GraphQL base URL (scheme and host)"}),
    ("--twitch-usher-url", {"help": "Twitch usher base URL (scheme and host)"}),
    ("--twitch-usher-path", {"choices": ["v1", "v2"], "help": "usher path (default v2)"}),
    (
        "--stop-grace",
        {"type": float, "help": "seconds downloads in flight get on SIGTERM (default 10)"},
    ),
    (
        "--max-segment-bytes",
        {"type": int, "help": "refuse segment bodies larger than this (default 64 MiB)"},
    ),
    ("--twitch-auth-file", {"help": "file holding an OAuth token (never logged)"}),
    ("--ca-file", {"help": "extra CA certificate to trust for TLS"}),
    ("--recent-cutoff", {"type": float, "help": "seconds left to a local recorder"}),
    ("--backfill-start", {"help": "oldest hour to backfill: hours ago, or a time"}),
    ("--extras", {"metavar": "DIR,...", "help": "extra directories to copy from peers (emotes)"}),
    (
        "--max-tombstone-share",
        {"type": float, "help": "hold back peers' tombstones hiding more of an hour (0.1)"},
    ),
    (
        "--accept-tombstones",
        {
            "action": "append",
            "metavar": "HOUR",
            "help": "let the peers' tombstones for HOUR through the safety valve (repeatable)",
        },
    ),
    (
        "--coverage-node",
        {
            "dest": "coverage_nodes",
            "action": "append",
            "metavar": "NAME=URL",
            "help": "a node whose coverage map the HTML page shows (repeatable)",
        },
    ),
    ("--chat", {"action": "store_true", "help": "archive the channels' chat too (SPEC §14)"}),
    ("--irc-host", {"help": "chat server (default irc.chat.twitch.tv)"}),
    ("--irc-port", {"type": int, "help": "chat server port (default 6697, 6667 without TLS)"}),
    ("--no-irc-tls", {"dest": "irc_tls", "action": "store_false", "help": "chat over plain TCP"}),
    ("--twitch-nick", {"help": "the login the --twitch-auth-file token belongs to"}),
    ("--node-name", {"help": "this node's name in chat messages' receivers (default: host name)"}),
    ("--emotes", {"action": "store_true", "help": "fetch chat's emote images into BASE/emotes"}),
    ("--emotes-url", {"help": "emote image URL template with {id}, {theme} and {scale}"}),
    ("--time-scale", {"type": float, "help": "clock runs this many times faster (simulator)"}),
    ("--time-epoch", {"type": float, "help": "Unix time at which a scaled clock shows real time"}),
    ("--clock-offset", {"type": float, "help": "seconds this node's clock is off (testing)"}),
    (
        "--database-url",
        {"metavar": "URL", "help": "events database (default: SQLite in BASE/.streamvault/)"},
    ),
    (
        "--cutter-output",
        {"metavar": "DIR|s3://BUCKET/PREFIX", "help": "where the cutter puts videos"},
    ),
    ("--cutter-lease", {"type": float, "help": "seconds a cutter's claim lasts unless renewed"}),
    ("--s3-endpoint-url", {"metavar": "URL", "help": "S3-compatible server for cutter output"}),
    ("--cutter", {"action": "store_true", "help": "run the cutter too (off by default)"}),
    (
        "--console-port",
        {"type": int, "help": "open the interactive console on 127.0.0.1:PORT (off by default)"},
    ),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="node.toml (see deploy/node.example.toml)")
    for flag, options in _FLAGS:
        parser.add_argument(flag, default=argparse.SUPPRESS, **options)
    for component in ("downloader", "backfiller", "coverage"):
        parser.add_argument(
            f"--no-{component}",
            dest=component,
            action="store_false",
            default=argparse.SUPPRESS,
            help=f"do not run the {component}",
        )


def config_from_args(args: argparse.Namespace, env: dict[str, str] | None = None) -> NodeConfig:
    flags = {k: v for k, v in vars(args).items() if k not in ("config", "run", "command", "parser")}
    # --log-level always has a value (the CLI adds it to every command); only a flag that was
    # really typed may override the config file.
    if not any(a == "--log-level" or a.startswith("--log-level=") for a in sys.argv[1:]):
        flags.pop("log_level", None)
    text = None
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            raise ConfigError(f"cannot read {args.config}: {err.strerror}") from err
    return load(text, env if env is not None else dict(os.environ), flags, args.config or "")


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ConfigError as err:
        print(f"streamvault node: {err}", file=sys.stderr)
        return 2
    setup_logging(config.log_level)
    if not config.channels:
        log.warning("no channels configured: this node records nothing (set channels or --channel)")
    try:
        asyncio.run(_main(config))
    except ConfigError as err:
        print(f"streamvault node: {err}", file=sys.stderr)
        return 2
    return 0


def node_clock(config: NodeConfig) -> Clock:
    """Real time, or a time scale shared with a simulator; off by ``clock_offset`` if set."""
    clock: Clock = SystemClock()
    if config.time_scale != 1.0:
        epoch = config.time_epoch or time.time()
        clock = ScaledClock.anchored(config.time_scale, epoch)
    if config.clock_offset:
        log.warning("this node's clock is %+.0f s off (clock_offset)", config.clock_offset)
        clock = OffsetClock(clock, config.clock_offset)
    return clock


async def _main(config: NodeConfig) -> None:
    from .runtime import Node

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    node = Node(config, node_clock(config))
    await node.start()
    try:
        await stop.wait()
        log.info("stopping: finishing in-flight segments")
    finally:
        await node.stop()
