"""Real video: consecutive segments play as one stream; qualities line up; bytes are stable."""

from __future__ import annotations

import io
import itertools

import aiohttp
import av

from streamvault.mpegts import PACKET_SIZE, TICKS_PER_SECOND, first_timestamps
from streamvault.sim import ChannelConfig, Simulator
from streamvault.store.naming import hash_bytes

from .client import get_text, media_url, segment_urls
from .conftest import LOOP_SEGMENTS, MakeSim

FRAME = 1 / 30
VIDEO_PID = 0x100  # ffmpeg's first elementary stream


def stream_times(data: bytes) -> dict[str, list[tuple[float, float]]]:
    """Per stream type, (pts, duration) in seconds of every packet, decoding every frame."""
    times: dict[str, list[tuple[float, float]]] = {}
    with av.open(io.BytesIO(data), format="mpegts") as container:
        for packet in container.demux():
            assert not packet.is_corrupt, f"corrupt {packet.stream.type} packet at {packet.pts}"
            if packet.pts is None:
                continue
            tb = float(packet.time_base)
            times.setdefault(packet.stream.type, []).append(
                (packet.pts * tb, (packet.duration or 0) * tb)
            )
            packet.decode()
    return times


async def fetch_concatenated(
    session: aiohttp.ClientSession, sim: Simulator, quality: str, count: int
) -> tuple[bytes, list[int]]:
    status, text = await get_text(session, await media_url(session, sim.base_url, "alpha", quality))
    assert status == 200
    urls = segment_urls(text)
    sequences = sorted(urls)[:count]
    chunks = []
    for sequence in sequences:
        async with session.get(urls[sequence]) as response:
            assert response.status == 200
            chunks.append(await response.read())
    return b"".join(chunks), sequences


async def test_ten_segments_play_as_one_stream_in_two_qualities(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(channels=[ChannelConfig("alpha", ["source", "480p"], history=12)])
    starts = {}
    for quality in ("source", "480p"):
        data, sequences = await fetch_concatenated(session, sim, quality, 10)
        assert sequences == list(range(10)), "ten consecutive segments crossing loop boundaries"
        assert len(sequences) > 2 * LOOP_SEGMENTS
        times = stream_times(data)
        assert set(times) == {"video", "audio"}
        for kind, packets in times.items():
            pts = [p for p, _ in packets]
            assert all(b > a for a, b in itertools.pairwise(pts)), f"{kind} not monotonic"
            duration = packets[-1][0] + packets[-1][1] - packets[0][0]
            assert abs(duration - 20.0) <= FRAME, f"{quality} {kind} lasts {duration}"
        starts[quality] = times["video"][0][0]
    assert starts["source"] == starts["480p"]


async def test_segment_bytes_depend_only_on_channel_quality_sequence(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    first = await make_sim()
    second = await make_sim()
    assert first.segment_bytes("alpha", "source", 7) == second.segment_bytes("alpha", "source", 7)
    assert first.segment_bytes("alpha", "source", 7) != first.segment_bytes("beta", "source", 7)
    assert first.segment_bytes("alpha", "source", 7) != first.segment_bytes("alpha", "480p", 7)
    # the same piece of the loop one loop later differs (its timestamps moved on)
    assert first.segment_bytes("alpha", "source", 1) != first.segment_bytes(
        "alpha", "source", 1 + LOOP_SEGMENTS
    )
    published = first.published("alpha", "source")
    assert [p.sequence for p in published[:3]] == [0, 1, 2]
    url = await media_url(session, second.base_url, "alpha", "source")
    status, text = await get_text(session, url)
    assert status == 200
    async with session.get(segment_urls(text)[3]) as response:
        body = await response.read()
    assert hash_bytes(body) == published[3].data_hash
    assert len(body) % PACKET_SIZE == 0


async def test_realistic_bitrate_pads_to_about_six_megabits(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(realistic_bitrate=True)
    data = sim.segment_bytes("alpha", "source", 3)
    _, text = await get_text(session, await media_url(session, sim.base_url, "alpha", "source"))
    async with session.get(segment_urls(text)[3]) as response:
        assert response.status == 200
        assert response.content_length == len(data)
        assert await response.read() == data
    assert 1_400_000 <= len(data) <= 1_500_000
    assert len(data) % PACKET_SIZE == 0
    times = stream_times(data)
    assert len(times["video"]) == 60


async def test_every_segment_starts_one_duration_after_the_last(make_sim: MakeSim) -> None:
    sim = await make_sim()
    starts = {}
    for quality in ("source", "480p"):
        video = [
            first_timestamps(sim.segment_bytes("alpha", quality, k))[VIDEO_PID]
            for k in range(3 * LOOP_SEGMENTS + 1)
        ]
        assert {b - a for a, b in itertools.pairwise(video)} == {2 * TICKS_PER_SECOND}
        starts[quality] = video
    assert starts["source"] == starts["480p"]


def continuity_errors(data: bytes) -> int:
    """How many packets break their PID's continuity counter sequence."""
    last: dict[int, int] = {}
    errors = 0
    for start in range(0, len(data), PACKET_SIZE):
        pid = ((data[start + 1] & 0x1F) << 8) | data[start + 2]
        if pid == 0x1FFF or not data[start + 3] & 0x10:
            continue
        counter = data[start + 3] & 0x0F
        if pid in last and counter != (last[pid] + 1) % 16:
            errors += 1
        last[pid] = counter
    return errors


async def test_continuity_counters_run_on_across_segments_and_loops(make_sim: MakeSim) -> None:
    sim = await make_sim()
    for start in (0, 3, 1000):
        data = b"".join(
            sim.segment_bytes("alpha", "source", k) for k in range(start, start + 2 * LOOP_SEGMENTS)
        )
        assert continuity_errors(data) == 0
    joined = sim.segment_bytes("alpha", "source", 2) + sim.segment_bytes("alpha", "source", 4)
    assert continuity_errors(joined) > 0, "a skipped segment shows as a break"
