"""The real Twitch playlists vendored in ``tests/resources/twitch`` (see its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

TESTDATA = Path(__file__).parent / "resources" / "twitch"
#: every playlist there, by file name
PLAYLISTS = sorted(path.name for path in TESTDATA.glob("*.m3u8"))


def read(name: str) -> str:
    return (TESTDATA / name).read_text(encoding="utf-8")
