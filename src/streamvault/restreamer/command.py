"""``streamvault restream``: serve the store over HTTP (SPEC §5)."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from ..cliargs import add_base_dir, require_base_dir
from ..store.disk import SegmentStore
from .app import create_app

HELP = "serve the store over HTTP: listings, segments, playlists, cuts, coverage, metrics"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")


def run(args: argparse.Namespace) -> int:
    if not require_base_dir("restream", args.base_dir):
        return 2
    store = SegmentStore(args.base_dir)
    store.upgrade_tombstones()  # legacy NAME.ts.tombstone -> NAME.tombstone (SPEC §3)
    app = create_app(args.base_dir, store=store)
    log.info("restreamer serving %s on %s:%d", args.base_dir, args.host, args.port)
    # Peers hold change-feed long-polls open; a graceful stop should not wait them out.
    web.run_app(
        app, host=args.host, port=args.port, print=None, access_log=None, shutdown_timeout=3.0
    )
    return 0
