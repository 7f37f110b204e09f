"""``streamvault backfill``: copy the segments this node lacks from its peers (SPEC §8)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from datetime import datetime

import aiohttp

from ..cliargs import add_base_dir, add_metrics_port, comma_list, peer_url
from ..errors import BadTime, UnsafePath
from ..metrics import start_metrics_server
from ..store.disk import SegmentStore
from ..store.naming import check_path_part
from ..timeutil import parse_hour, parse_time
from .peers import PeerDiscovery
from .plan import ORDERS
from .service import Backfiller, PassResult, Settings

log = logging.getLogger(__name__)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

HELP = "copy missing segments from peer restreamers, verified by hash"


def parse_start(text: str) -> float | datetime:
    """``--start``: hours ago (``48``, ``1.5``), a day (``2026-11-28``: its midnight UTC, as
    before the one time grammar) or a time in any zone, converted to UTC."""
    try:
        hours = float(text)
    except ValueError:
        day = text.strip()
        return parse_time(f"{day}T00:00" if _DAY.fullmatch(day) else text)
    if hours < 0 or hours != hours:
        raise BadTime(f"--start hours may not be negative: {text!r}")
    return hours


def _start_arg(text: str) -> float | datetime:
    try:
        return parse_start(text)
    except BadTime as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"may not be negative: {text}")
    return value


def check_extras(names: list[str]) -> tuple[str, ...]:
    """``--extras``: directory names under the base directory; no separators, no leading '.'."""
    for name in names:
        check_path_part(name, "extras directory")
    return tuple(names)


def _extras_list(text: str) -> tuple[str, ...]:
    try:  # an empty list is allowed, as wubloader deployments pass one
        return check_extras([item.strip() for item in text.split(",") if item.strip()])
    except UnsafePath as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _hour_arg(text: str) -> str:
    try:
        parse_hour(text)
    except BadTime as err:
        raise argparse.ArgumentTypeError(f"not an hour like 2026-11-28T04: {text!r}") from err
    return text


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share from 0 to 1: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_base_dir(parser)
    parser.add_argument(
        "--channel", action="append", required=True, help="channel to backfill (repeatable)"
    )
    parser.add_argument(
        "--qualities", type=comma_list, default="source", help="comma-separated qualities"
    )
    parser.add_argument(
        "--extras",
        type=_extras_list,
        default=(),
        metavar="DIR,...",
        help="extra directories under the base directory (e.g. emotes) copied as they are",
    )
    parser.add_argument(
        "--node",
        action="append",
        type=peer_url,
        default=[],
        metavar="URL",
        help="a peer restreamer's base URL (repeatable)",
    )
    parser.add_argument("--node-file", help="file of peers, lines 'NAME URL' or 'URL', # comments")
    parser.add_argument(
        "--node-dns",
        metavar="NAME[:PORT]",
        help="DNS name whose A records are peers (port default 8000)",
    )
    parser.add_argument(
        "--localhost", metavar="NAME", help="this node's name, URL or host, left out of the peers"
    )
    parser.add_argument(
        "--start",
        type=_start_arg,
        default="336",
        help="oldest hour to check: hours ago, or a time in any timezone",
    )
    parser.add_argument(
        "--recent-cutoff",
        type=_positive,
        default=60.0,
        metavar="S",
        help="leave segments younger than this to the local downloader while it records them",
    )
    parser.add_argument(
        "--order", choices=ORDERS, default="reverse", help="hour order: reverse is newest first"
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="one full pass; exit 0 if everything was copied, 1 otherwise",
    )
    parser.add_argument(
        "--interval",
        type=_positive,
        default=10.0,
        metavar="S",
        help="seconds between passes over the recent hours",
    )
    parser.add_argument(
        "--full-interval",
        type=_positive,
        default=600.0,
        metavar="S",
        help="seconds between passes that also check older hours",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="concurrent copies per peer"
    )
    parser.add_argument(
        "--node-refresh",
        type=_positive,
        default=60.0,
        metavar="S",
        help="seconds between re-reading the node file and DNS",
    )
    parser.add_argument(
        "--no-feed",
        dest="feed",
        action="store_false",
        default=argparse.SUPPRESS,
        help="poll only; do not follow the peers' change feeds",
    )
    parser.add_argument(
        "--accept-tombstones",
        action="append",
        type=_hour_arg,
        default=[],
        metavar="HOUR",
        help="let the peers' tombstones for HOUR (e.g. 2026-11-28T04) through the safety valve "
        "(repeatable)",
    )
    parser.add_argument(
        "--max-tombstone-share",
        type=_share,
        default=0.1,
        metavar="F",
        help="hold back tombstones that would hide more than this share of an hour (default 0.1)",
    )
    add_metrics_port(parser)


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        channels=tuple(args.channel),
        qualities=tuple(args.qualities),
        start=args.start,
        recent_cutoff=args.recent_cutoff,
        order=args.order,
        interval=args.interval,
        full_interval=args.full_interval,
        per_peer=max(1, args.concurrency),
        refresh_interval=args.node_refresh,
        feed=getattr(args, "feed", True),
        extras=tuple(args.extras),
        max_tombstone_share=args.max_tombstone_share,
        accept_tombstones=frozenset(args.accept_tombstones),
    )


async def _main(args: argparse.Namespace) -> PassResult | None:
    store = SegmentStore(args.base_dir)
    # Its own leftovers after a crash (only old ones: a downloader may share the store).
    store.remove_stale_temp_files()
    await asyncio.to_thread(store.upgrade_tombstones)
    discovery = PeerDiscovery(args.node, args.node_file, args.node_dns, args.localhost)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, raise_for_status=False) as session:
        backfiller = Backfiller(store, settings_from_args(args), discovery, session)
        if args.once:
            return await backfiller.run_once()
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await backfiller.run()
    return None


def run(args: argparse.Namespace) -> int:
    if not (args.node or args.node_file or args.node_dns):
        print(
            "streamvault backfill: give peers with --node, --node-file or --node-dns",
            file=sys.stderr,
        )
        return 2
    if args.metrics_port is not None:
        start_metrics_server(args.metrics_port, args.metrics_host)
    result = asyncio.run(_main(args))
    if result is None:
        return 0
    if result.ok:
        print(f"backfill complete: {result.summary()}")
        return 0
    print(f"backfill incomplete: {result.summary()}", file=sys.stderr)
    return 1
