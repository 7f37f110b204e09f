"""A full disk while recording: the downloader keeps running, says so clearly, keeps every file
it had, leaves no temp files, and records again once there is room."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamvault.sim import ChannelConfig, Simulator
from streamvault.store.naming import hash_bytes
from tests.helpers import mounted_tmpfs

from .simhelp import downloader, sim_config, sim_wait, stored, temp_files


@pytest.fixture
def small_disk() -> Iterator[Path]:
    with mounted_tmpfs(
        "400k", "cannot mount a tmpfs here (needs root); tests/store covers ENOSPC injected"
    ) as mount_point:
        yield mount_point


def snapshot(base: Path) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("*.ts")}


async def test_full_disk_loses_nothing_already_stored_and_recovers(
    sim_cache: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    config = sim_config(sim_cache, [ChannelConfig("full1", ["source"], history=2)])
    async with Simulator(config) as sim:
        recorder = downloader(sim, small_disk, ["full1"], ["source"])
        async with recorder:
            await sim_wait(sim, 60)  # far more video than 400 KiB holds
            held = snapshot(small_disk)
            assert held, "nothing was recorded before the disk filled"
            full = [r for r in caplog.records if "disk full" in r.getMessage()]
            assert full and all(r.levelno == logging.ERROR for r in full)
            assert not any("partial" in r.getMessage() for r in caplog.records)
            # Every file it holds is whole: its bytes match the hash in its name.
            for path, data in held.items():
                assert path.endswith(f"-{hash_bytes(data)}.ts")
            assert temp_files(small_disk) == []
            # Room again: recording resumes by itself, and nothing it had is lost.
            remount = ["mount", "-o", "remount,size=64m", str(small_disk)]
            await asyncio.to_thread(subprocess.run, remount, check=True)
            before = len(stored(small_disk, "full1", "source"))
            await sim_wait(sim, 30)
            after = snapshot(small_disk)
            assert len(stored(small_disk, "full1", "source")) > before
            assert all(after[path] == data for path, data in held.items())
        assert all(not task.done() or not task.exception() for task in recorder._tasks)
    assert temp_files(small_disk) == []
