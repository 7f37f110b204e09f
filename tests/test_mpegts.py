"""MPEG-TS packets: timestamp and PCR round trips, shifts on real rendered video with
wrap-around, what the start of a segment says (PSI, streams, first timestamps), continuity,
elementary stream heads, null packets, and input that is not TS."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.mpegts import (
    NULL_PID,
    PACKET_SIZE,
    TICKS_PER_SECOND,
    WRAP,
    continuous,
    elementary_head,
    first_timestamps,
    inspect,
    null_packet,
    padding,
    read_pcr_base,
    read_timestamp,
    shift_timestamps,
    write_pcr_base,
    write_timestamp,
)
from streamvault.sim.video import Loop, LoopSpec, build_segment, render_loop


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    """Two 2 s pieces of the simulator's real video (H.264 and AAC, muxed by ffmpeg)."""
    return asyncio.run(render_loop(LoopSpec(64, 36, 30, 2.0, 2), tmp_path_factory.mktemp("ts")))


@pytest.fixture(scope="module")
def piece(loop: Loop) -> bytes:
    return loop.pieces[1]


@given(st.integers(min_value=0, max_value=WRAP - 1), st.sampled_from([0x20, 0x30, 0x10]))
def test_timestamp_round_trip(value: int, prefix: int) -> None:
    buf = bytearray(5)
    buf[0] = prefix
    write_timestamp(buf, 0, value)
    assert read_timestamp(buf) == value
    assert buf[0] & 0xF0 == prefix
    assert buf[0] & 1 and buf[2] & 1 and buf[4] & 1  # marker bits


@given(st.integers(min_value=0, max_value=WRAP - 1), st.integers(0, 0x7F))
def test_pcr_round_trip_keeps_extension_bits(value: int, low: int) -> None:
    buf = bytearray(6)
    buf[4] = low
    write_pcr_base(buf, 0, value)
    assert read_pcr_base(buf, 0) == value
    assert buf[4] & 0x7F == low


def test_shift_moves_every_stream_and_wraps(piece: bytes) -> None:
    before = first_timestamps(piece)
    assert len(before) == 2  # video and audio
    shifted = shift_timestamps(piece, 90_000 * 7)
    assert {pid: ts - 90_000 * 7 for pid, ts in first_timestamps(shifted).items()} == before
    assert len(shifted) == len(piece)
    wrapped = shift_timestamps(piece, WRAP - 90_000)
    assert first_timestamps(wrapped) == {pid: (ts - 90_000) % WRAP for pid, ts in before.items()}
    assert shift_timestamps(shifted, -90_000 * 7) == piece
    assert shift_timestamps(piece, WRAP) == piece


def test_shift_refuses_data_that_is_not_ts() -> None:
    with pytest.raises(ValueError, match="not a whole number of packets"):
        shift_timestamps(b"\x47" * 100, 1)
    with pytest.raises(ValueError, match="no TS sync byte"):
        shift_timestamps(b"\x00" * PACKET_SIZE, 1)


def test_null_packets_are_valid_and_sized() -> None:
    packet = null_packet(b"hello")
    assert len(packet) == PACKET_SIZE and packet[0] == 0x47
    assert ((packet[1] & 0x1F) << 8 | packet[2]) == NULL_PID
    assert len(padding(1000)) == 5 * PACKET_SIZE
    with pytest.raises(ValueError, match="at most 184 bytes"):
        null_packet(b"x" * 185)
    assert inspect(packet * 3) == inspect(b"")  # null packets say nothing


def test_first_timestamp_and_streams_of_real_segments(loop: Loop) -> None:
    first, second = (inspect(build_segment(loop, "c", "source", k)) for k in (1, 2))
    assert first.has_video and first.has_audio
    assert first.start is not None and second.start is not None
    assert abs((second.start - first.start) - 2.0) < 0.03  # continuous timestamps, 2 s apart


def test_inspect_reads_the_program_tables_and_agrees_with_first_timestamps(piece: bytes) -> None:
    info = inspect(piece)
    assert info.program is not None and info.pmt_pid is not None
    assert info.video_pid is not None and info.audio_pid is not None
    first = first_timestamps(piece)
    assert set(first) == {info.video_pid, info.audio_pid}
    assert info.video_start == first[info.video_pid] / TICKS_PER_SECOND
    assert info.start == min(first.values()) / TICKS_PER_SECOND
    moved = inspect(shift_timestamps(piece, 3 * TICKS_PER_SECOND))
    assert moved.video_start is not None and info.video_start is not None
    assert abs(moved.video_start - info.video_start - 3.0) < 1e-9


def test_consecutive_segments_are_continuous_across_the_loop(loop: Loop) -> None:
    starts = [inspect(build_segment(loop, "c", "source", k)).video_start for k in range(5)]
    assert continuous(starts, [2.0] * 4)
    assert not continuous([starts[0], starts[2]], [2.0])  # a segment missing between them
    assert not continuous([starts[0], None], [2.0])


def test_elementary_head_is_the_stream_without_pes_headers(piece: bytes) -> None:
    info = inspect(piece)
    assert info.video_pid is not None and info.audio_pid is not None
    video = elementary_head(piece, info.video_pid)
    assert len(video) >= 4096 and video.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01"))
    audio = elementary_head(piece, info.audio_pid, limit=64)
    assert audio[0] == 0xFF and audio[1] & 0xF0 == 0xF0  # an ADTS sync word
    assert elementary_head(piece, 0x1234) == b""


def test_garbage_has_no_timestamp() -> None:
    info = inspect(b"\x47" + b"\x00" * 1000)
    assert (info.start, info.has_video, info.has_audio) == (None, False, False)
    assert inspect(b"").start is None
    assert first_timestamps(b"\x47\x40\x00\x10" + b"\x00" * 184) == {}
