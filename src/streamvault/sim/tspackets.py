"""MPEG-TS packet surgery for the simulator. Pure: bytes in, bytes out.

The simulator renders a short loop of segments once and serves segment ``k`` as loop piece
``k % N`` with every timestamp moved forward by ``(k // N)`` loop lengths, so an endless stream
has continuous, monotonic timestamps. This module moves the timestamps (PES PTS/DTS and the
PCR, all on the 90 kHz clock, modulo 2**33 as MPEG-TS wraps them) and builds null packets
(PID 0x1FFF, whose payload every demuxer discards) used to label and to pad segments.
"""

from __future__ import annotations

PACKET_SIZE = 188
SYNC_BYTE = 0x47
NULL_PID = 0x1FFF
TICKS_PER_SECOND = 90_000
WRAP = 1 << 33

# PES stream ids whose header has no optional fields (hence no PTS/DTS).
_NO_OPTIONAL_HEADER = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})


def read_timestamp(field: bytes | bytearray) -> int:
    """Decode a 5-byte PES PTS/DTS field."""
    return (
        ((field[0] >> 1) & 0x07) << 30
        | field[1] << 22
        | (field[2] >> 1) << 15
        | field[3] << 7
        | field[4] >> 1
    )


def write_timestamp(buf: bytearray, offset: int, value: int) -> None:
    """Encode ``value`` into the 5-byte PTS/DTS field at ``offset``, keeping its 4-bit prefix."""
    value %= WRAP
    prefix = buf[offset] & 0xF0
    buf[offset] = prefix | ((value >> 29) & 0x0E) | 0x01
    buf[offset + 1] = (value >> 22) & 0xFF
    buf[offset + 2] = ((value >> 14) & 0xFE) | 0x01
    buf[offset + 3] = (value >> 7) & 0xFF
    buf[offset + 4] = ((value << 1) & 0xFE) | 0x01


def read_pcr_base(buf: bytes | bytearray, offset: int) -> int:
    return (
        buf[offset] << 25
        | buf[offset + 1] << 17
        | buf[offset + 2] << 9
        | buf[offset + 3] << 1
        | buf[offset + 4] >> 7
    )


def write_pcr_base(buf: bytearray, offset: int, value: int) -> None:
    """Rewrite the 33-bit PCR base at ``offset``; the 9-bit extension is left alone."""
    value %= WRAP
    buf[offset] = (value >> 25) & 0xFF
    buf[offset + 1] = (value >> 17) & 0xFF
    buf[offset + 2] = (value >> 9) & 0xFF
    buf[offset + 3] = (value >> 1) & 0xFF
    buf[offset + 4] = ((value & 0x01) << 7) | (buf[offset + 4] & 0x7F)


def _shift_packet(buf: bytearray, start: int, delta: int) -> None:
    header = buf[start + 1]
    pusi = header & 0x40
    control = (buf[start + 3] >> 4) & 0x03
    payload = start + 4
    if control & 0x02:  # adaptation field present
        length = buf[start + 4]
        if length and buf[start + 5] & 0x10:  # PCR flag
            pcr = start + 6
            write_pcr_base(buf, pcr, read_pcr_base(buf, pcr) + delta)
        payload = start + 5 + length
    if not (pusi and control & 0x01) or payload + 14 > start + PACKET_SIZE:
        return
    if buf[payload : payload + 3] != b"\x00\x00\x01":
        return
    if buf[payload + 3] in _NO_OPTIONAL_HEADER:
        return
    flags = (buf[payload + 7] >> 6) & 0x03
    if flags & 0x02:
        pts = payload + 9
        write_timestamp(buf, pts, read_timestamp(buf[pts : pts + 5]) + delta)
    if flags == 0x03 and payload + 19 <= start + PACKET_SIZE:
        dts = payload + 14
        write_timestamp(buf, dts, read_timestamp(buf[dts : dts + 5]) + delta)


def shift_timestamps(data: bytes, delta: int) -> bytes:
    """``data`` (whole 188-byte TS packets) with every PTS, DTS and PCR moved by ``delta`` ticks.

    Raises ValueError for input that is not aligned MPEG-TS.
    """
    if len(data) % PACKET_SIZE:
        raise ValueError(f"TS data of {len(data)} bytes is not a whole number of packets")
    if delta % WRAP == 0:
        return bytes(data)
    buf = bytearray(data)
    for start in range(0, len(buf), PACKET_SIZE):
        if buf[start] != SYNC_BYTE:
            raise ValueError(f"no TS sync byte at offset {start}")
        pid = ((buf[start + 1] & 0x1F) << 8) | buf[start + 2]
        if pid != NULL_PID:
            _shift_packet(buf, start, delta)
    return bytes(buf)


def _pid(data: bytes | bytearray, start: int) -> int:
    return ((data[start + 1] & 0x1F) << 8) | data[start + 2]


def payload_counts(data: bytes) -> dict[int, int]:
    """PID -> number of packets carrying a payload (those advance the continuity counter)."""
    counts: dict[int, int] = {}
    for start in range(0, len(data) - PACKET_SIZE + 1, PACKET_SIZE):
        pid = _pid(data, start)
        if pid != NULL_PID and data[start + 3] & 0x10:
            counts[pid] = counts.get(pid, 0) + 1
    return counts


def renumber_continuity(data: bytes, first: dict[int, int]) -> bytes:
    """``data`` with each PID's continuity counters counting on from ``first[pid]`` (default 0).

    Segments cut by separate muxers each restart their counters; renumbering them as if cut
    from one stream lets players read consecutive segments without "corrupt packet" errors.
    """
    buf = bytearray(data)
    counters = dict(first)
    for start in range(0, len(buf) - PACKET_SIZE + 1, PACKET_SIZE):
        pid = _pid(buf, start)
        if pid == NULL_PID:
            continue
        counter = counters.get(pid, 0)
        if buf[start + 3] & 0x10:
            value, counters[pid] = counter, (counter + 1) % 16
        else:  # adaptation field only: repeats the previous value
            value = (counter - 1) % 16
        buf[start + 3] = (buf[start + 3] & 0xF0) | value
    return bytes(buf)


def null_packet(payload: bytes = b"") -> bytes:
    """One null packet (PID 0x1FFF) carrying ``payload`` (at most 184 bytes, 0xFF-padded)."""
    if len(payload) > PACKET_SIZE - 4:
        raise ValueError("a null packet carries at most 184 bytes")
    return bytes((SYNC_BYTE, 0x1F, 0xFF, 0x10)) + payload.ljust(PACKET_SIZE - 4, b"\xff")


def padding(size: int) -> bytes:
    """Whole null packets totalling at most ``size`` bytes."""
    return null_packet() * max(0, size // PACKET_SIZE)


def first_timestamps(data: bytes) -> dict[int, int]:
    """PID -> first PES PTS in ``data``; for tests and diagnostics."""
    found: dict[int, int] = {}
    for start in range(0, len(data) - PACKET_SIZE + 1, PACKET_SIZE):
        pid = ((data[start + 1] & 0x1F) << 8) | data[start + 2]
        if pid in found or not data[start + 1] & 0x40 or not (data[start + 3] >> 4) & 0x01:
            continue
        payload = start + 4
        if (data[start + 3] >> 4) & 0x02:
            payload = start + 5 + data[start + 4]
        if data[payload : payload + 3] == b"\x00\x00\x01" and (data[payload + 7] >> 6) & 0x02:
            found[pid] = read_timestamp(data[payload + 9 : payload + 14])
    return found
