"""The ``streamvault`` command: one subcommand per component (SPEC §2).

Each component provides ``streamvault.<package>.command`` with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Only the command being run is imported
(``streamvault --help`` imports none): start-up does not pay for every component.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Iterable, Sequence

from . import __version__
from .cliargs import add_log_level
from .logs import setup_logging

#: subcommand -> (module, one-line summary for ``streamvault --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "download": ("streamvault.downloader.command", "record channels into the store"),
    "restream": ("streamvault.restreamer.command", "serve the store over HTTP"),
    "backfill": ("streamvault.backfiller.command", "copy missing segments from peers"),
    "coverage": ("streamvault.coverage.command", "measure holes and draw coverage maps"),
    "chat": ("streamvault.chat.command", "archive Twitch chat"),
    "sim": ("streamvault.sim.command", "run a simulated Twitch"),
    "node": ("streamvault.node.command", "run every component in one process"),
    "demo": ("streamvault.demo.command", "offline demo: simulator, two nodes, backfill"),
    "events": ("streamvault.events.command", "import and export events as CSV"),
    "cutter": ("streamvault.cutjobs.command", "render edited events into videos"),
}


def build_parser(load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full arguments of the commands in ``load`` (default: all).

    Every command is listed either way; one not loaded has its summary only.
    """
    loaded = set(COMMANDS if load is None else load)
    parser = argparse.ArgumentParser(
        prog="streamvault",
        description="A redundant archive for live streams.",
    )
    parser.add_argument("--version", action="version", version=f"streamvault {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in COMMANDS.items():
        if name not in loaded:
            subparsers.add_parser(name, help=summary)
            continue
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name,
            help=summary,
            description=module.HELP,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run, parser=sub)
        add_log_level(sub)
    return parser


def command_named(argv: Sequence[str]) -> str | None:
    """The subcommand in ``argv``: its first word that is not an option (the top-level
    parser's own options, ``--help`` and ``--version``, take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def tune_gc() -> None:
    """Fewer cyclic-GC passes: a cold 24 h playlist or a coverage pass allocates hundreds of
    thousands of small acyclic objects (segments, times), and the default thresholds rescan
    them over and over. Measured: about 10 % off a cold 24 h playlist."""
    gc.freeze()  # everything imported so far lives for the whole process
    gc.set_threshold(100_000, 50, 100)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(load=[name for name in [command_named(argv)] if name in COMMANDS])
    tune_gc()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, with its own usage, not the top-level one
        getattr(args, "parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    setup_logging(args.log_level)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
