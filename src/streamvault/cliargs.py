"""Flags shared by several subcommands, so they are spelled the same everywhere."""

from __future__ import annotations

import argparse
import os

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
        "--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port"
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
