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
from ..sources.twitch import GQL_URL, USHER_PATH, USHER_PATHS, USHER_URL
from ..store.disk import SegmentStore
from .service import ChannelSpec, Downloader, parse_channel
from .settings import Settings

HELP = "record Twitch channels (or any HLS URL) into the segment store"

log = logging.getLogger(__name__)

DEFAULTS = Settings()


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
        "--twitch-usher-path",
        choices=sorted(USHER_PATHS),
        default=USHER_PATH,
        help="usher master playlist path: v2 (/api/v2/channel/hls/..., the default) or v1 "
        "(/api/channel/hls/...)",
    )
    parser.add_argument(
        "--twitch-auth-file", default=None, help="file holding a Twitch OAuth token (never logged)"
    )
    parser.add_argument(
        "--stop-grace",
        type=float,
        default=DEFAULTS.stop_grace,
        help="seconds in-flight downloads get on SIGTERM before they are abandoned (default 10)",
    )
    parser.add_argument(
        "--max-segment-bytes",
        type=int,
        default=DEFAULTS.max_segment_bytes,
        help="a segment body larger than this is refused, not stored (default 64 MiB)",
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


def settings_from_args(args: argparse.Namespace) -> Settings:
    if args.stop_grace < 0:
        raise ConfigError(f"--stop-grace must not be negative: {args.stop_grace}")
    if args.max_segment_bytes <= 0:
        raise ConfigError(f"--max-segment-bytes must be positive: {args.max_segment_bytes}")
    return Settings(stop_grace=args.stop_grace, max_segment_bytes=args.max_segment_bytes)


def run(args: argparse.Namespace) -> int:
    try:
        channels = [parse_channel(text) for text in args.channels]
        settings = settings_from_args(args)
    except ConfigError as err:
        log.error("%s", err)
        return 2
    return asyncio.run(_main(args, channels, settings))


async def _main(args: argparse.Namespace, channels: list[ChannelSpec], settings: Settings) -> int:
    if args.metrics_port is not None:
        start_metrics_server(args.metrics_port, args.metrics_host)
    store = SegmentStore(args.base_dir)
    # Left by a crash. Only old ones: a backfiller sharing this store may be writing its own.
    store.remove_stale_temp_files()
    store.upgrade_tombstones()  # legacy NAME.ts.tombstone -> NAME.tombstone (SPEC §3)
    downloader = Downloader(
        store,
        channels,
        args.qualities,
        settings=settings,
        gql_url=args.twitch_gql_url,
        usher_url=args.twitch_usher_url,
        auth_token=_auth_token(args.twitch_auth_file),
        ssl_context=_ssl_context(args.ca_file),
        usher_path=args.twitch_usher_path,
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
