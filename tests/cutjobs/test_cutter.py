"""The cutter service in-process (SPEC §12): claim, render (§7), store, DONE or FAILED."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from streamvault.backfiller.peers import Peer
from streamvault.cutjobs.output import LocalOutput
from streamvault.cutjobs.service import Cutter, Settings
from streamvault.events.store import EventStore
from streamvault.metrics import render as render_metrics
from streamvault.restreamer.app import create_app
from streamvault.restreamer.archive import Archive
from streamvault.store.disk import SegmentStore

from .conftest import CHANNEL, QUALITY, duration, edited_event, ffprobe


def sha256(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def cutter(store: EventStore, base: Path, out: Path, **kwargs: Any) -> Cutter:
    output = LocalOutput(str(out))
    output.prepare()
    archive = Archive(SegmentStore(str(base)))
    return Cutter(store, archive, output, settings=Settings(name="t", lease=30, poll=0.1), **kwargs)


# fast keeps each range's own timestamps (SPEC §7), so its container spans the gap between
# ranges; smart rewrites them to run on. Both are checked on what ffprobe says the file lasts.
@pytest.mark.parametrize(
    ("cut_type", "ranges", "seconds"),
    [("fast", [(1.3, 5.7)], 4.4), ("smart", [(1.3, 5.7), (9.0, 12.5)], 7.9)],
)
async def test_an_edited_event_is_cut_stored_and_done(
    event_store: EventStore,
    store_dir: Path,
    tmp_path: Path,
    cut_type: str,
    ranges: list[tuple[float, float]],
    seconds: float,
) -> None:
    event = await event_store.create(edited_event(*ranges, cut_type=cut_type), "ed")
    worker = cutter(event_store, store_dir, tmp_path / "cuts")
    assert await worker.run_once() == 0
    done = await event_store.get(event["id"])
    assert done["state"] == "DONE" and done["progress"] == 1.0 and done["error"] is None
    output = done["output"]
    path = output["location"]
    assert os.path.dirname(path) == str(tmp_path / "cuts")
    assert output["size"] == await asyncio.to_thread(os.path.getsize, path) and output[
        "sha256"
    ] == sha256(path)
    assert abs(duration(path) - seconds) < 0.1
    assert [n for n in os.listdir(tmp_path / "cuts")] == [os.path.basename(path)]  # no temp left
    history = [h["action"] for h in await event_store.history(event["id"])]
    assert history == ["create", "claim", "done"]


async def test_an_xfade_transition_overlaps_the_ranges_by_its_duration(
    event_store: EventStore, store_dir: Path, tmp_path: Path
) -> None:
    fade = {"type": "fade", "duration": 1.5}
    event = await event_store.create(
        edited_event((1.0, 5.0), (10.0, 14.0), (20.0, 23.0), transition=fade), "ed"
    )
    worker = cutter(event_store, store_dir, tmp_path / "cuts")
    assert await worker.run_once() == 0
    done = await event_store.get(event["id"])
    assert done["state"] == "DONE", done["error"]
    info = ffprobe(done["output"]["location"])
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    # 4 + 4 + 3 seconds, overlapped twice by 1.5 s
    assert abs(float(info["format"]["duration"]) - 8.0) < 0.1


async def test_an_event_without_video_fails_with_a_one_line_reason(
    event_store: EventStore, store_dir: Path, tmp_path: Path
) -> None:
    nothing = await event_store.create(edited_event((3600.0, 3610.0)), "ed")
    wrong = await event_store.create({**edited_event((1.0, 3.0)), "channel": "nobody"}, "ed")
    good = await event_store.create(edited_event((1.0, 3.0)), "ed")
    worker = cutter(event_store, store_dir, tmp_path / "cuts")
    assert await worker.run_once() == 2
    for event in (nothing, wrong):
        failed = await event_store.get(event["id"])
        assert failed["state"] == "FAILED" and failed["output"] is None
        assert failed["error"] and "\n" not in failed["error"]
    assert (await event_store.get(good["id"]))["state"] == "DONE"
    metrics = render_metrics().decode()
    assert 'streamvault_cutter_jobs{state="FAILED"}' in metrics
    assert "streamvault_cutter_render_seconds_count" in metrics
    assert "streamvault_cutter_failures_total" in metrics


async def test_missing_segments_are_fetched_from_a_peer_first(
    event_store: EventStore, store_dir: Path, tmp_path: Path
) -> None:
    peer_app = create_app(str(store_dir))
    server = TestServer(peer_app, host="127.0.0.1", port=0)
    await server.start_server()
    local = tmp_path / "empty"
    os.makedirs(local)
    event = await event_store.create(edited_event((2.5, 9.5)), "ed")
    try:
        async with aiohttp.ClientSession() as session:
            peer = Peer("peer", str(server.make_url("")).rstrip("/"))
            worker = cutter(event_store, local, tmp_path / "cuts", peers=[peer], session=session)
            assert await worker.run_once() == 0
    finally:
        await server.close()
    done = await event_store.get(event["id"])
    assert done["state"] == "DONE", done["error"]
    assert abs(duration(done["output"]["location"]) - 7.0) < 0.1
    store = SegmentStore(str(local))
    copied = [
        s
        for h in store.hours(CHANNEL, QUALITY)
        for s in store.segments(CHANNEL, QUALITY, h).segments
    ]
    assert len(copied) == 4  # the segments starting at 2, 4, 6 and 8 s: just what the cut needs
