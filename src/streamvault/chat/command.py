"""``streamvault chat``: archive Twitch chat into the store (SPEC §14)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket

from ..cliargs import add_base_dir, add_metrics_port
from ..clock import SystemClock
from ..errors import ConfigError
from ..metrics import REGISTRY, start_metrics_server
from ..store.naming import check_path_part
from .archiver import ChatArchiver, ChatSettings
from .connection import ServerAddress
from .emotes import DEFAULT_URL
from .metrics import ChatCoverageCollector
from .store import ChatStore

log = logging.getLogger(__name__)

HELP = "archive Twitch chat of channels into 60 s batches under BASE/CHANNEL/chat/"


def _channel(text: str) -> str:
    try:
        return check_path_part(text.lstrip("#").lower())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    parser.add_argument("channels", nargs="+", type=_channel, metavar="CHANNEL")
    parser.add_argument("--irc-host", default="irc.chat.twitch.tv", help="chat server")
    parser.add_argument("--irc-port", type=int, default=None, help="default 6697, 6667 without TLS")
    parser.add_argument("--no-tls", dest="tls", action="store_false", help="plain TCP")
    parser.add_argument("--ca-file", default=None, help="extra CA certificate to trust for TLS")
    parser.add_argument(
        "--twitch-auth-file",
        default=None,
        help="file holding an OAuth token (never logged); anonymous (justinfanNNNNN) without",
    )
    parser.add_argument("--nick", default=None, help="login name that goes with the token")
    parser.add_argument(
        "--node-name",
        default=socket.gethostname(),
        help="this node's name in each message's receivers",
    )
    parser.add_argument(
        "--merge-interval", type=float, default=60.0, help="seconds between merge passes"
    )
    parser.add_argument(
        "--emotes",
        action="store_true",
        help="fetch each emote seen once into BASE/emotes/ID/THEME-SCALE (replicated as extras)",
    )
    parser.add_argument("--emotes-url", default=DEFAULT_URL, help="emote image URL template")
    add_metrics_port(parser)


def read_token(path: str | None, setting: str = "--twitch-auth-file") -> str | None:
    """The OAuth token in ``path`` (None without a file); ConfigError naming ``setting``."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError as err:
        raise ConfigError(f"{setting}: cannot read it: {err.strerror}") from err


def settings_from_args(args: argparse.Namespace) -> ChatSettings:
    if args.merge_interval <= 0:
        raise ConfigError("--merge-interval must be positive")
    token = read_token(args.twitch_auth_file)
    if token and not args.nick:
        raise ConfigError("--twitch-auth-file needs --nick, the login the token belongs to")
    port = args.irc_port or (6697 if args.tls else 6667)
    address = ServerAddress(args.irc_host, port, args.tls, args.ca_file)
    return ChatSettings(
        node_name=args.node_name,
        address=address,
        nick=args.nick if token else None,
        token=token,
        merge_interval=args.merge_interval,
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
    except ConfigError as err:
        print(f"streamvault chat: {err}")
        return 2
    if args.metrics_port is not None:
        start_metrics_server(args.metrics_port)
    asyncio.run(_main(args.base_dir, args.channels, settings))
    return 0


async def _main(base_dir: str, channels: list[str], settings: ChatSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    archiver = ChatArchiver(base_dir, channels, settings, SystemClock())
    collector = ChatCoverageCollector(ChatStore(base_dir), channels)
    REGISTRY.register(collector)
    archiver.start()
    log.info(
        "archiving chat of %s from %s:%d as node %s",
        ", ".join(channels),
        settings.address.host,
        settings.address.port,
        settings.node_name,
    )
    try:
        await stop.wait()
    finally:
        await archiver.stop()
        REGISTRY.unregister(collector)
