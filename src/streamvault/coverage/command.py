"""``streamvault coverage``: measure holes and overlaps, draw coverage maps, export metrics."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from ..cliargs import add_base_dir, add_metrics_port, comma_list, require_base_dir
from ..metrics import REGISTRY, start_metrics_server
from ..store.disk import SegmentStore
from ..store.naming import check_path_part
from .maps import Node
from .metrics import DEFAULT_RECENT_HOURS, CoverageCollector
from .scan import CoverageScanner
from .service import CoverageService

log = logging.getLogger(__name__)

HELP = "measure holes, overlaps and segment types per hour; draw coverage maps; export metrics"


def parse_node(text: str) -> Node:
    """``NAME=URL`` (or a bare ``URL``, named by itself) -> :class:`Node`."""
    name, sep, url = text.partition("=")
    if not sep:
        name, url = text, text
    name, url = name.strip(), url.strip()
    if not name or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected NAME=URL with an http(s) URL: {text!r}")
    return Node(name, url)


def _path_part(text: str) -> str:
    try:
        return check_path_part(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    parser.add_argument(
        "--channel",
        action="append",
        type=_path_part,
        default=None,
        help="channel to measure (repeatable; none means every channel in the store)",
    )
    parser.add_argument(
        "--qualities",
        type=comma_list,
        default=None,
        help="comma-separated qualities (none means every quality of each channel)",
    )
    parser.add_argument(
        "--node",
        action="append",
        type=parse_node,
        default=[],
        help="NAME=URL of a node's restreamer whose map the HTML page shows (repeatable)",
    )
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
    parser.add_argument(
        "--recent-hours",
        type=int,
        default=DEFAULT_RECENT_HOURS,
        help="hours exported with an hour label in the metrics",
    )
    add_metrics_port(parser)


def build(args: argparse.Namespace) -> tuple[CoverageService, CoverageCollector]:
    store = SegmentStore(args.base_dir)
    scanner = CoverageScanner(store, args.channel, args.qualities)
    service = CoverageService(store, scanner, args.node, interval=args.interval)
    return service, CoverageCollector(scanner, args.recent_hours)


def _unknown_streams(
    store: SegmentStore, channels: list[str] | None, qualities: list[str] | None
) -> str | None:
    """Why the channels or qualities asked for are not in the store, or None when they are.

    A store that holds nothing yet is left alone: its downloader has not written anything.
    """
    present = store.channels()
    missing = [c for c in channels or [] if c not in present]
    if missing and present:
        return f"no channel {', '.join(missing)} in the store (it holds: {', '.join(present)})"
    held = sorted({q for c in channels or present for q in store.qualities(c)})
    missing = [q for q in qualities or [] if q not in held]
    if missing and held:
        return f"no quality {', '.join(missing)} in the store (it holds: {', '.join(held)})"
    return None


def run(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        log.error("--interval must be positive")
        return 2
    if not require_base_dir("coverage", args.base_dir):
        return 2
    # with other nodes to show, a page for a stream only they hold is fine; alone, a typo
    unknown = _unknown_streams(SegmentStore(args.base_dir), args.channel, args.qualities)
    if unknown and not args.node:
        print(f"streamvault coverage: {unknown}", file=sys.stderr)
        return 2
    service, collector = build(args)
    REGISTRY.register(collector)
    try:
        if args.metrics_port is not None:
            start_metrics_server(args.metrics_port, args.metrics_host)
        asyncio.run(_main(service, args.once))
    finally:
        REGISTRY.unregister(collector)
    return 0


async def _main(service: CoverageService, once: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await service.run(once=once, stop=stop)
