"""``streamvault restream``: serve the store over HTTP (SPEC §5)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from ..cliargs import add_base_dir, add_database_url, require_base_dir
from ..errors import ConfigError
from ..events.db import create_engine, database_url
from ..events.store import EventStore
from ..store.disk import SegmentStore
from .app import create_app
from .serving import DEFAULT_IDLE_TIMEOUT, ConnectionSettings, Listener

HELP = "serve the store over HTTP: listings, segments, playlists, cuts, coverage, metrics"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="S",
        help="close a connection that sends no complete request head for S seconds after "
        "connecting or after its last answer (default %(default)g)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="serve at most N connections at once; more are answered 503 at once "
        "(default 4096, within the open-file limit)",
    )
    add_database_url(parser)


async def _serve(args: argparse.Namespace) -> None:
    events = EventStore(create_engine(database_url(args.database_url, args.base_dir)))
    try:
        await _listen(args, events)
    finally:
        await events.close()


async def _listen(args: argparse.Namespace, events: EventStore) -> None:
    store = SegmentStore(args.base_dir)
    store.upgrade_tombstones()  # legacy NAME.ts.tombstone -> NAME.tombstone (SPEC §3)
    settings = ConnectionSettings(args.idle_timeout, args.max_connections)
    app = create_app(args.base_dir, store=store, events=events)
    listener = Listener(app, args.host, args.port, settings)
    await listener.start()
    log.info(
        "restreamer serving %s on %s:%d (at most %d connections)",
        args.base_dir, args.host, listener.port, listener.cap,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await listener.stop()


def run(args: argparse.Namespace) -> int:
    if not require_base_dir("restream", args.base_dir):
        return 2
    try:
        asyncio.run(_serve(args))
    except ConfigError as err:
        print(f"streamvault restream: {err}", file=sys.stderr)
        return 2
    return 0
