from __future__ import annotations

import subprocess
import sys

from streamvault.cli import COMMANDS, build_parser


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamvault", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_component() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in ("download", "restream", "backfill", "coverage", "sim", "node", "demo"):
        assert name in result.stdout


def test_every_subcommand_has_help_and_log_level() -> None:
    parser = build_parser()
    for name in COMMANDS:
        result = run(name, "--help")
        assert result.returncode == 0, result.stderr
        assert "--log-level" in result.stdout
    assert parser.prog == "streamvault"


def test_unknown_subcommand_is_an_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
