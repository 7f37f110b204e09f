"""``streamvault cutter``: render edited events into videos (SPEC §12)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import aiohttp

from ..backfiller.peers import peer_from_url
from ..cliargs import add_base_dir, add_database_url, add_metrics_port
from ..errors import ConfigError
from ..events.db import database_url
from ..events.store import EventStore
from ..metrics import start_metrics_server
from ..restreamer.archive import Archive
from ..store.disk import SegmentStore
from .output import open_output
from .service import Cutter, Settings, default_name

HELP = "claim edited events from the database, cut them, store the videos, mark them done"

log = logging.getLogger(__name__)


def add_cutter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        default="./cuts",
        metavar="DIR|s3://BUCKET/PREFIX",
        help="where finished videos go: a local directory or an S3-compatible bucket and prefix",
    )
    parser.add_argument(
        "--s3-endpoint-url",
        default=None,
        metavar="URL",
        help="S3-compatible server to upload to (default: AWS, or $AWS_ENDPOINT_URL); "
        "credentials come from the usual AWS_* variables or files",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="seconds a claim lasts unless renewed; a dead cutter's event is taken back after it",
    )
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between looks for work when idle"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    add_database_url(parser)
    add_cutter_arguments(parser)
    parser.add_argument(
        "--node",
        dest="nodes",
        action="append",
        default=[],
        metavar="URL",
        help="a peer restreamer to fetch missing segments from before cutting (repeatable)",
    )
    parser.add_argument("--name", default=default_name(), help="this cutter's name in the history")
    parser.add_argument(
        "--once", action="store_true", help="cut everything claimable, then exit (1 if any failed)"
    )
    add_metrics_port(parser)


def run(args: argparse.Namespace) -> int:
    if args.lease <= 0 or args.poll <= 0:
        print("streamvault cutter: --lease and --poll must be positive", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args))
    except ConfigError as err:
        print(f"streamvault cutter: {err}", file=sys.stderr)
        return 2


async def _main(args: argparse.Namespace) -> int:
    events = await EventStore.connect(database_url(args.database_url, args.base_dir))
    output = open_output(args.output, args.s3_endpoint_url)
    if args.metrics_port is not None:
        start_metrics_server(args.metrics_port)
    settings = Settings(name=args.name, lease=args.lease, poll=args.poll)
    peers = [peer_from_url(url) for url in args.nodes]
    archive = Archive(SegmentStore(args.base_dir))
    try:
        async with aiohttp.ClientSession() as session:
            cutter = Cutter(
                events, archive, output, peers=peers, session=session, settings=settings
            )
            if args.once:
                failed = await cutter.run_once()
                log.info("cutter: %d done, %d failed", cutter.done, failed)
                return 1 if failed else 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)
            log.info("cutter %s: writing to %s", settings.name, args.output)
            await cutter.run(stop)
            return 0
    finally:
        await events.close()
