"""``streamvault backfill`` flags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamvault.backfiller.command import parse_start, settings_from_args
from streamvault.cli import build_parser
from streamvault.errors import BadTime


def test_start_is_hours_ago_or_a_time_in_any_zone() -> None:
    assert parse_start("48") == 48.0
    assert parse_start("1.5") == 1.5
    assert parse_start("2026-01-01T10:00:00+02:00") == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert parse_start("2026-01-01T10:00") == datetime(2026, 1, 1, 10, tzinfo=UTC)
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
