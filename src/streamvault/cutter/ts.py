"""Just enough MPEG-TS to plan a cut: the first timestamp and which kinds of streams a
segment holds, read from the PES headers at its start. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

PACKET = 188
SYNC = 0x47
CLOCK = 90_000  # PTS ticks per second


@dataclass(frozen=True, slots=True)
class TsInfo:
    start: float | None  # seconds: the smallest first PTS over all streams
    has_video: bool
    has_audio: bool


def _pes_start(packet: bytes) -> bytes | None:
    """The payload of a packet that starts a PES packet, or None."""
    if packet[0] != SYNC or not packet[1] & 0x40:
        return None
    adaptation = (packet[3] >> 4) & 0x3
    offset = 4
    if adaptation in (2, 3):
        offset += 1 + packet[4]
    if adaptation == 2 or offset >= PACKET:
        return None
    payload = packet[offset:]
    if payload[:3] != b"\x00\x00\x01":
        return None
    return payload


def _pts(payload: bytes) -> int | None:
    if len(payload) < 14 or not payload[7] & 0x80:
        return None
    b = payload[9:14]
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def inspect(data: bytes) -> TsInfo:
    """First PTS (seconds) and stream kinds from the start of a segment (64 KiB is plenty)."""
    first: dict[int, int] = {}
    video = audio = False
    for at in range(0, len(data) - PACKET + 1, PACKET):
        payload = _pes_start(data[at : at + PACKET])
        if payload is None:
            continue
        stream_id = payload[3]
        pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]
        if 0xE0 <= stream_id <= 0xEF:
            video = True
        elif 0xC0 <= stream_id <= 0xDF or stream_id == 0xBD:
            audio = True
        pts = _pts(payload)
        if pts is not None and pid not in first:
            first[pid] = pts
    start = min(first.values()) / CLOCK if first else None
    return TsInfo(start, video, audio)
