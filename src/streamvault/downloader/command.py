"""``streamvault download``: record Twitch channels and plain HLS URLs into the store."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl

from ..cliargs import add_base_dir, add_metrics_port, comma_list
from ..errors import ConfigError
from ..metrics import start_metrics_server
from ..sources.twitch import GQL_URL, USHER_URL
from ..store.disk import SegmentStore
from .service import ChannelSpec, Downloader, parse_channel

HELP = "record Twitch channels (or any HLS URL) into the segment store"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    add_metrics_port(parser)
    parser.add_argument(
        "--qualities",
        type=comma_list,
        default="source",
        help="qualities to record, e.g. source,480p",
    )
    parser.add_argument(
        "--twitch-gql-url",
        default=GQL_URL,
        help="base URL of Twitch's GQL API (scheme, host, optional path prefix)",
    )
    parser.add_argument(
        "--twitch-usher-url",
        default=USHER_URL,
        help="base URL of Twitch's usher (scheme, host, optional path prefix)",
    )
    parser.add_argument(
        "--twitch-auth-file", default=None, help="file holding a Twitch OAuth token (never logged)"
    )
    parser.add_argument("--ca-file", default=None, help="also trust this CA (PEM) for HTTPS")
    parser.add_argument(
        "channels",
        nargs="+",
        metavar="CHANNEL[!][:TYPE:URL]",
        help="channel to record; '!' marks it important; TYPE twitch or url",
    )


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    if ca_file is None:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    return context


def _auth_token(path: str | None) -> str | None:
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return f.read().strip() or None


def run(args: argparse.Namespace) -> int:
    try:
        channels = [parse_channel(text) for text in args.channels]
    except ConfigError as err:
        log.error("%s", err)
        return 2
    return asyncio.run(_main(args, channels))


async def _main(args: argparse.Namespace, channels: list[ChannelSpec]) -> int:
    if args.metrics_port is not None:
        start_metrics_server(args.metrics_port, args.metrics_host)
    store = SegmentStore(args.base_dir)
    store.remove_stale_temp_files()  # left by a crash; nothing else writes here yet
    store.upgrade_tombstones()  # legacy NAME.ts.tombstone -> NAME.tombstone (SPEC §3)
    downloader = Downloader(
        store,
        channels,
        args.qualities,
        gql_url=args.twitch_gql_url,
        usher_url=args.twitch_usher_url,
        auth_token=_auth_token(args.twitch_auth_file),
        ssl_context=_ssl_context(args.ca_file),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    downloader.start()
    log.info("recording %s", ", ".join(c.name + ("!" if c.important else "") for c in channels))
    await stop.wait()
    log.info("stopping: waiting for segments in flight")
    await downloader.stop()
    log.info("stopped")
    return 0
