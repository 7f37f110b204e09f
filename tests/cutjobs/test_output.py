"""Local outputs: atomic, and a dead cutter's temp files cleaned up once they are stale."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streamvault.cutjobs.output import STALE_TEMP, TEMP_PREFIX, LocalOutput, parse_s3_url
from streamvault.errors import ConfigError


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def failing() -> AsyncIterator[bytes]:
    yield b"half a video"
    raise RuntimeError("ffmpeg died")


async def test_a_failed_render_leaves_no_file(tmp_path: Path) -> None:
    output = LocalOutput(str(tmp_path))
    with pytest.raises(RuntimeError):
        await output.store("cut.ts", failing(), lambda size: None)
    assert os.listdir(tmp_path) == []
    counted: list[int] = []
    stored = await output.store("cut.ts", chunks(b"ab", b"cd"), counted.append)
    assert (tmp_path / "cut.ts").read_bytes() == b"abcd" and counted == [2, 2]
    assert stored.size == 4 and stored.location == str(tmp_path / "cut.ts")


def test_only_stale_temp_files_are_removed(tmp_path: Path) -> None:
    old, fresh, final = (
        (tmp_path / f"{TEMP_PREFIX}old"),
        (tmp_path / f"{TEMP_PREFIX}new"),
        (tmp_path / "kept.ts"),
    )
    for path in (old, fresh, final):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - STALE_TEMP - 10, now - STALE_TEMP - 10))
    os.utime(final, (now - STALE_TEMP - 10, now - STALE_TEMP - 10))
    assert LocalOutput(str(tmp_path)).prepare(now) == 1
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, final.name])


@pytest.mark.parametrize("url", ["s3:/bucket", "http://bucket/x", "s3://"])
def test_bad_s3_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_s3_url(url)


def test_s3_urls() -> None:
    assert parse_s3_url("s3://videos/desertbus/2026/") == ("videos", "desertbus/2026")
    assert parse_s3_url("s3://videos") == ("videos", "")
