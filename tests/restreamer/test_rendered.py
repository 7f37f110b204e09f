"""Rendered browser files: kept for the next range request, bounded, removed at the end."""

from __future__ import annotations

import asyncio
import os

from streamvault.restreamer.rendered import RenderedCuts
from tests.helpers import read_file, write_file


def writer(data: bytes):  # type: ignore[no-untyped-def]
    async def render(path: str) -> None:
        await write_file(path, data)

    return render


def never_gone() -> bool:
    return False


async def test_kept_files_are_bounded_and_removed_on_close() -> None:
    cuts = RenderedCuts(max_bytes=1000, max_files=2)
    paths = []
    for key in ("a", "b", "c"):
        async with cuts.lease(key, writer(key.encode() * 100), ".mp4", never_gone) as path:
            assert await read_file(path) == key.encode() * 100
            paths.append(path)
    assert [await asyncio.to_thread(os.path.exists, p) for p in paths] == [
        False,
        True,
        True,
    ]  # at most 2 files
    async with cuts.lease("b", writer(b"other"), ".mp4", never_gone) as path:
        assert path == paths[1]  # kept: not rendered again
    assert cuts.renders == 3
    async with cuts.lease("big", writer(b"x" * 900), ".mp4", never_gone):
        pass
    assert (
        sum([await asyncio.to_thread(os.path.exists, p) for p in paths]) == 1
    )  # at most 1000 bytes: b or c went
    directory = os.path.dirname(paths[0])
    await cuts.close()
    assert not await asyncio.to_thread(os.path.exists, directory)


async def test_a_render_nobody_waits_for_is_cancelled() -> None:
    cuts = RenderedCuts()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow(path: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def serve() -> None:
        async with cuts.lease("k", slow, ".webm", never_gone):
            pass

    task = asyncio.ensure_future(serve())
    await started.wait()
    task.cancel()
    await asyncio.wait_for(cancelled.wait(), 5)
    await cuts.close()
