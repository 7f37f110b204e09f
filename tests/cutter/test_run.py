"""The cutter as a library: streaming output, failures, and early close."""

from __future__ import annotations

import os
from contextlib import aclosing

import pytest

from streamvault.cutter.plan import CutPlan, plan_cut
from streamvault.cutter.run import cut, ffmpeg_stream, running_pids
from streamvault.errors import CutFailed
from streamvault.store.disk import SegmentStore
from streamvault.store.naming import Segment
from streamvault.store.select import select_segments

from ..restreamer.conftest import Archive
from ..restreamer.media import start_of


def plan_of(archive: Archive, first: float, last: float) -> CutPlan:
    start, end = start_of(first), start_of(last)
    return plan_cut([(select_segments(archive.source, start, end), start, end)])


async def test_rough_streams_the_files(archive: Archive) -> None:
    store = SegmentStore(archive.base)
    chunks = [c async for c in cut(plan_of(archive, 0, 3), "rough", store.segment_path)]
    assert b"".join(chunks) == b"".join(archive.datas[:3])


async def test_closing_early_kills_ffmpeg(archive: Archive) -> None:
    store = SegmentStore(archive.base)
    before = running_pids()
    async with aclosing(cut(plan_of(archive, 0, 20), "webm", store.segment_path)) as output:
        first = await output.__anext__()
        assert first.startswith(b"\x1a\x45\xdf\xa3")  # EBML header: webm is streaming already
        (pid,) = running_pids() - before
    assert pid not in running_pids()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_ffmpeg_failure_is_reported(tmp_path: pytest.TempPathFactory) -> None:
    with pytest.raises(CutFailed, match="ffmpeg exited"):
        async for _ in ffmpeg_stream(
            ["-i", os.path.join(str(tmp_path), "missing.ts"), "-f", "null", "-"]
        ):
            pass


async def test_smart_cut_of_garbage_fails_cleanly(tmp_path: pytest.TempPathFactory) -> None:
    store = SegmentStore(str(tmp_path))
    bad: Segment = store.write_segment("c", "q", start_of(0), 2.0, "full", b"not video" * 100)
    plan = plan_cut(
        [(select_segments([bad], start_of(0.25), start_of(0.75)), start_of(0.25), start_of(0.75))]
    )
    with pytest.raises(CutFailed):
        async for _ in cut(plan, "smart", store.segment_path):
            pass


async def test_nothing_to_cut() -> None:
    with pytest.raises(CutFailed, match="no video"):
        cut(plan_cut([]), "fast", lambda segment: "")
