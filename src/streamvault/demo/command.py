"""``streamvault demo``: offline, no set-up; the first thing a newcomer runs."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

HELP = "offline demo: a simulated Twitch, two nodes with different faults, backfill healing them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S",
        help="stream for S seconds, then stop; exit 0 only if both archives are identical "
        "and complete (default: run until Ctrl-C)",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help="where the two nodes keep their stores (default: a new temporary directory)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from .runner import run_demo

    if args.duration is not None and args.duration < 10:
        print("streamvault demo: --duration must be at least 10 seconds")
        return 2
    try:
        return asyncio.run(_until_terminated(run_demo(args.duration, args.data_dir)))
    except KeyboardInterrupt:
        print("demo stopped")
        return 130


async def _until_terminated(demo: Coroutine[Any, Any, int]) -> int:
    """Run the demo; SIGTERM (``kill PID``) stops it as Ctrl-C does: its node processes are
    stopped before it exits, none is left behind."""
    task = asyncio.ensure_future(demo)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        print("demo stopped")
        return 143
