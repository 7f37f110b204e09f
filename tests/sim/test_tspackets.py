"""TS timestamp surgery: round trips, shifts on real rendered video, wrap-around, null packets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.sim.tspackets import (
    NULL_PID,
    PACKET_SIZE,
    WRAP,
    first_timestamps,
    null_packet,
    padding,
    read_pcr_base,
    read_timestamp,
    shift_timestamps,
    write_pcr_base,
    write_timestamp,
)
from streamvault.sim.video import LoopSpec, render_loop


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


@pytest.fixture(scope="module")
def piece(sim_cache: Path) -> bytes:
    loop = asyncio.run(render_loop(LoopSpec(64, 36, 30, 2.0, 2), sim_cache))
    return loop.pieces[1]


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
    with pytest.raises(ValueError):
        shift_timestamps(b"\x47" * 100, 1)
    with pytest.raises(ValueError):
        shift_timestamps(b"\x00" * PACKET_SIZE, 1)


def test_null_packets_are_valid_and_sized() -> None:
    packet = null_packet(b"hello")
    assert len(packet) == PACKET_SIZE and packet[0] == 0x47
    assert ((packet[1] & 0x1F) << 8 | packet[2]) == NULL_PID
    assert len(padding(1000)) == 5 * PACKET_SIZE
    with pytest.raises(ValueError):
        null_packet(b"x" * 185)
