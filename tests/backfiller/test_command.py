"""``streamvault backfill`` flags."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streamvault.backfiller.command import parse_start, settings_from_args
from streamvault.cli import build_parser
from streamvault.errors import BadTime
from tests.helpers import closed_port


def test_start_is_hours_ago_or_a_time_in_any_zone() -> None:
    assert parse_start("48") == 48.0
    assert parse_start("1.5") == 1.5
    assert parse_start("2026-01-01T10:00:00+02:00") == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert parse_start("2026-01-01T10:00") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert parse_start("2026-11-28") == datetime(2026, 11, 28, tzinfo=UTC)  # a day: its midnight
    with pytest.raises(BadTime):
        parse_start("2026-02-30")
    with pytest.raises(BadTime):
        parse_start("-3")
    with pytest.raises(BadTime):
        parse_start("yesterday")


def test_flags_become_settings() -> None:
    args = build_parser().parse_args(
        ["backfill", "--base-dir", "/x", "--channel", "a", "--channel", "b",
         "--qualities", "source,480p", "--node", "http://p:8000", "--start", "6",
         "--recent-cutoff", "5", "--order", "forward", "--no-feed", "--concurrency", "2",
         "--extras", "emotes, media"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.channels == ("a", "b")
    assert settings.qualities == ("source", "480p")
    assert (settings.start, settings.recent_cutoff, settings.order) == (6.0, 5.0, "forward")
    assert (settings.feed, settings.per_peer) == (False, 2)
    assert settings.extras == ("emotes", "media")
    defaults = settings_from_args(build_parser().parse_args(["backfill", "--channel", "a"]))
    assert (defaults.start, defaults.recent_cutoff, defaults.order) == (336.0, 60.0, "reverse")
    assert defaults.qualities == ("source",) and defaults.feed and defaults.extras == ()
    # wubloader deployments pass an empty list when they copy no extras
    empty = build_parser().parse_args(["backfill", "--channel", "a", "--extras", ""])
    assert settings_from_args(empty).extras == ()


def test_bad_flags_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (
        ["--start", "soon"],
        ["--order", "random"],
        ["--recent-cutoff", "-1"],
        ["--extras", "emotes,.."],
        ["--extras", "a/b"],
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["backfill", "--channel", "a", *bad])


def test_the_standalone_backfiller_removes_its_own_stale_temp_files(tmp_path: Path) -> None:
    """After a crash its temp files stay behind; the next start removes the old ones (and
    leaves young ones, which may be a downloader's in a shared store)."""
    hour = tmp_path / "a" / "source" / "2026-01-01T00"
    hour.mkdir(parents=True)
    stale = hour / "00:00.000000-2.0-temp-0f8fad5b-d9cb-469f-a165-70867728950e.ts"
    young = hour / "00:02.000000-2.0-temp-1f8fad5b-d9cb-469f-a165-70867728950e.ts"
    for path in (stale, young):
        path.write_bytes(b"half a segment")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    result = subprocess.run(
        [sys.executable, "-m", "streamvault", "backfill", "--base-dir", str(tmp_path),
         "--channel", "a", "--node", f"http://127.0.0.1:{closed_port()}", "--once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert not stale.exists(), result.stderr[-2000:]
    assert young.exists()
