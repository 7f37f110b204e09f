"""A copy cancelled while its temp file is being created leaves no file behind (a node
stopping mid-pass must not litter the store with temp files)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from streamvault.backfiller.copy import open_temp
from streamvault.store.disk import TempFile


async def test_cancelled_while_creating_the_temp_file_leaves_nothing(tmp_path: Path) -> None:
    entered, release, created = threading.Event(), threading.Event(), threading.Event()

    def slow_open() -> TempFile:
        entered.set()
        release.wait(30)
        temp = TempFile(str(tmp_path), "00:00.000000-2.0-temp-x.ts")
        created.set()
        return temp

    task = asyncio.create_task(open_temp(slow_open))
    assert await asyncio.to_thread(entered.wait, 30)
    task.cancel()
    await asyncio.sleep(0)  # let the cancellation reach open_temp while the thread still runs
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(created.wait, 30)  # the thread did create it
    assert os.listdir(tmp_path) == []


async def test_an_uncancelled_open_returns_the_file(tmp_path: Path) -> None:
    temp = await open_temp(lambda: TempFile(str(tmp_path), "t.ts"))
    temp.write(b"abc")
    temp.commit("done.ts")
    assert (tmp_path / "done.ts").read_bytes() == b"abc"
