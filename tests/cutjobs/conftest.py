"""Fixtures: a store of real two-second H.264/AAC segments, an event database, ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from streamvault.store.disk import SegmentStore
from streamvault.timeutil import format_iso

from ..dbfixtures import database_url, event_store, postgres  # noqa: F401 - shared fixtures
from ..restreamer.conftest import segment_datas  # noqa: F401 - shared fixture
from ..restreamer.media import T0, populate

CHANNEL, QUALITY = "test", "source"


def at(seconds: float) -> str:
    return format_iso(T0 + timedelta(seconds=seconds))


def edited_event(
    *ranges: tuple[float, float], transition: Any = None, **fields: Any
) -> dict[str, Any]:
    """An EDITED event over ``ranges`` (seconds after T0); ``transition`` joins them."""
    items = [
        {
            "start": at(start),
            "end": at(end),
            "transition": transition if i < len(ranges) - 1 else None,
        }
        for i, (start, end) in enumerate(ranges)
    ]
    return {"channel": CHANNEL, "quality": QUALITY, "ranges": items, "state": "EDITED", **fields}


@pytest.fixture
def store_dir(tmp_path: Path, segment_datas: list[bytes]) -> Path:  # noqa: F811
    base = tmp_path / "store"
    populate(SegmentStore(str(base)), CHANNEL, QUALITY, segment_datas)
    return base


def ffprobe(path: str) -> dict[str, Any]:
    """ffprobe's view of a file: its format and streams (ffprobe comes from Debian's ffmpeg)."""
    program = shutil.which("ffprobe")
    assert program is not None, "ffprobe is missing: install Debian's ffmpeg package (.ci/run does)"
    result = subprocess.run(
        [program, "-v", "error", "-show_format", "-show_streams", "-of", "json", path],
        capture_output=True,
        check=True,
        timeout=60,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def duration(path: str) -> float:
    return float(ffprobe(path)["format"]["duration"])
