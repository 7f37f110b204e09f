from __future__ import annotations

import json
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


def test_mistyped_input_is_refused_with_one_clear_line(tmp_path: object) -> None:
    import os

    store = os.path.join(str(tmp_path), "store")
    os.makedirs(os.path.join(store, "ch", "source", "2026-01-01T00"))
    missing = os.path.join(str(tmp_path), "no-such-dir")
    cases = [
        (["node", "--qualities", "", "--channel", "x"], "qualities: give at least one quality"),
        (["node", "--node", "not-a-url", "--channel", "x"], "not a peer URL: 'not-a-url'"),
        (["backfill", "--node", "not-a-url", "--channel", "x"], "not a peer URL: 'not-a-url'"),
        (["download", "x", "--qualities", ""], "expected a comma-separated list"),
        (["coverage", "--base-dir", missing, "--once"], "is not a directory"),
        (["restream", "--base-dir", missing], "is not a directory"),
        (["coverage", "--base-dir", store, "--qualities", "1080p", "--once"], "no quality 1080p"),
        (["node", "--port", "x"], "invalid int value"),
        (
            ["node", "--backfill-start", "yesterday", "--node", "http://127.0.0.1:9", "--channel",
             "x", "--base-dir", store],
            "backfill_start: not an ISO 8601 time: 'yesterday'",
        ),
    ]  # fmt: skip
    for args, message in cases:
        result = run(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr, args


def test_an_unknown_flag_shows_the_usage_of_its_subcommand() -> None:
    result = run("node", "--bogus-flag")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: streamvault node ")
    assert "streamvault node: error: unrecognized arguments: --bogus-flag" in result.stderr


def loaded_commands(*args: str) -> list[str]:
    """The ``streamvault.*.command`` modules imported by ``streamvault ARGS`` (libraries' own
    ``command`` modules, such as Alembic's, are not ours)."""
    script = (
        "import sys\n"
        "from streamvault.cli import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "import json\n"
        "ours = [m for m in sys.modules if m.startswith('streamvault.')]\n"
        "print(json.dumps(sorted(m for m in ours if m.endswith('.command'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    names: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return names


def test_only_the_command_being_run_is_imported() -> None:
    assert loaded_commands("--help") == []
    assert loaded_commands("restream", "--help") == ["streamvault.restreamer.command"]
    assert loaded_commands("frobnicate") == []
