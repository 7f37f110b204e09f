"""Flags shared by several subcommands, so they are spelled the same everywhere."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from .logs import LEVELS


def add_base_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-dir",
        default=os.environ.get("STREAMVAULT_BASE_DIR", "./data"),
        help="segment store directory; $STREAMVAULT_BASE_DIR sets the default",
    )


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default=os.environ.get("STREAMVAULT_LOG_LEVEL", "INFO"),
        type=str.upper,
        choices=LEVELS,
        help="logging level; $STREAMVAULT_LOG_LEVEL sets the default",
    )


def add_metrics_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus /metrics on this port (0: a free one, named in the log)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address the --metrics-port server listens on (default 127.0.0.1: this host only)",
    )


def comma_list(text: str) -> list[str]:
    """``source,480p`` -> ``["source", "480p"]``; used as an argparse ``type``."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def check_peer_url(text: str) -> str:
    """A peer restreamer's base URL: ``http(s)://HOST[:PORT]``, or ``HOST:PORT`` (then http).

    A bare word (``not-a-url``) is refused rather than tried as a host on port 80 every pass.
    Raises ``ValueError`` with a one-line reason.
    """
    value = text.strip()
    given_scheme = "://" in value
    parts = urlsplit(value if given_scheme else "http://" + value)
    try:
        port = parts.port
    except ValueError:
        port = None
        given_scheme = False  # a bad port: refused below
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or " " in value
        or (not given_scheme and port is None)
    ):
        raise ValueError(f"not a peer URL: {text!r} (want http://HOST:PORT)")
    return value


def peer_url(text: str) -> str:
    """:func:`check_peer_url` as an argparse ``type``."""
    try:
        return check_peer_url(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def require_base_dir(command: str, base_dir: str) -> bool:
    """False (after saying why) when a command that reads the store is given none."""
    if os.path.isdir(base_dir):
        return True
    print(f"streamvault {command}: --base-dir {base_dir!r} is not a directory", file=sys.stderr)
    return False


def add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help=(
            "events database: postgresql://USER:PASSWORD@HOST/DB or sqlite:///PATH; "
            "$STREAMVAULT_DATABASE_URL sets the default, else SQLite in "
            "BASE/.streamvault/streamvault.sqlite3"
        ),
    )
