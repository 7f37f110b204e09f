"""MPEG-TS packets (ISO/IEC 13818-1), read and rewritten in place. Pure: bytes in, bytes out.

Read, to plan a cut or describe a segment (the cutter, the restreamer's probe, cut jobs):
:func:`inspect` (what the start of a segment says: the PAT and PMT, the kinds of stream, the
first timestamps), :func:`elementary_head`, :func:`first_timestamps`, :func:`continuous`.
Rewritten, to serve an endless stream from a short loop (the simulator):
:func:`shift_timestamps` (PES PTS/DTS and the PCR, all on the 90 kHz clock, modulo 2**33 as
MPEG-TS wraps them), :func:`renumber_continuity`, and null packets (PID 0x1FFF, whose payload
every demuxer discards) to label and pad segments.

Hand-written rather than through a demuxer (PyAV/ffmpeg): a demuxer decodes whole streams
into its own packets and writes new bytes, while these read a few header fields of the first
packets and rewrite timestamps and counters without moving a byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

PACKET_SIZE = 188
SYNC_BYTE = 0x47
NULL_PID = 0x1FFF
TICKS_PER_SECOND = 90_000
WRAP = 1 << 33  # timestamps wrap around at 33 bits

_VIDEO_TYPES = {0x01, 0x02, 0x10, 0x1B, 0x24}
_AUDIO_TYPES = {0x03, 0x04, 0x0F, 0x11, 0x81, 0x87}
# PES stream ids whose header has no optional fields (hence no PTS/DTS).
_NO_OPTIONAL_HEADER = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})
_START_CODE = b"\x00\x00\x01"

# -- packets ----------------------------------------------------------------------------------


def packet_starts(data: bytes | bytearray) -> range:
    """The offset of every whole packet in ``data``."""
    return range(0, len(data) - PACKET_SIZE + 1, PACKET_SIZE)


def pid(data: bytes | bytearray, at: int) -> int:
    return ((data[at + 1] & 0x1F) << 8) | data[at + 2]


def payload_start(data: bytes | bytearray, at: int) -> int | None:
    """Where the payload of the packet at ``at`` begins; None when it carries none."""
    control = (data[at + 3] >> 4) & 0x03
    offset = at + 4
    if control & 0x02:  # adaptation field first
        offset += 1 + data[at + 4]
    if not control & 0x01 or offset >= at + PACKET_SIZE:
        return None
    return offset


def _unit_starts(data: bytes | bytearray) -> Iterator[tuple[int, int, int]]:
    """(PID, payload start, packet end) of every packet that starts a PES packet or a PSI
    section (payload unit start indicator set) and carries a payload."""
    for at in packet_starts(data):
        if data[at] != SYNC_BYTE or not data[at + 1] & 0x40:
            continue
        payload = payload_start(data, at)
        if payload is not None:
            yield pid(data, at), payload, at + PACKET_SIZE


# -- timestamps -------------------------------------------------------------------------------


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


def pes_timestamp_fields(
    data: bytes | bytearray, payload: int, end: int
) -> tuple[int | None, int | None]:
    """The offsets of the PTS and DTS fields of a PES header at ``payload`` (in a packet that
    ends at ``end``); None for a field that is absent or cut off."""
    if payload + 14 > end or data[payload : payload + 3] != _START_CODE:
        return None, None
    if data[payload + 3] in _NO_OPTIONAL_HEADER:
        return None, None
    flags = (data[payload + 7] >> 6) & 0x03
    pts = payload + 9 if flags & 0x02 else None
    dts = payload + 14 if flags == 0x03 and payload + 19 <= end else None
    return pts, dts


def _pts(data: bytes | bytearray, payload: int, end: int) -> int | None:
    field, _ = pes_timestamp_fields(data, payload, end)
    return None if field is None else read_timestamp(data[field : field + 5])


def first_timestamps(data: bytes) -> dict[int, int]:
    """PID -> the first PES PTS on it in ``data``."""
    found: dict[int, int] = {}
    for stream, payload, end in _unit_starts(data):
        if stream not in found and (pts := _pts(data, payload, end)) is not None:
            found[stream] = pts
    return found


def continuous(starts: list[float | None], durations: list[float], tolerance: float = 0.05) -> bool:
    """Whether each segment's first video timestamp follows on from the one before it."""
    if any(start is None for start in starts):
        return False
    period = WRAP / TICKS_PER_SECOND
    for before, after, duration in zip(starts, starts[1:], durations, strict=False):
        assert before is not None and after is not None
        step = (after - before) % period
        if abs(step - duration) > tolerance:
            return False
    return True


# -- what a segment holds ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TsInfo:
    start: float | None  # seconds: the smallest first PTS over all streams
    video_start: float | None  # seconds: the first video PTS
    has_video: bool
    has_audio: bool
    program: int | None = None  # program number (service id)
    pmt_pid: int | None = None
    video_pid: int | None = None
    audio_pid: int | None = None


def _section(payload: bytes) -> bytes:
    """A PSI section without its pointer field, cut to its declared length."""
    start = 1 + payload[0]
    if start + 3 > len(payload):
        return b""
    length = (payload[start + 1] & 0x0F) << 8 | payload[start + 2]
    return payload[start : start + 3 + length]


def _pat(section: bytes) -> tuple[int, int] | None:
    for at in range(8, len(section) - 4 - 3, 4):
        program = section[at] << 8 | section[at + 1]
        if program:
            return program, (section[at + 2] & 0x1F) << 8 | section[at + 3]
    return None


def _pmt(section: bytes) -> list[tuple[int, int]]:
    """(stream type, PID) of every elementary stream of a PMT section."""
    if len(section) < 12:
        return []
    at = 12 + ((section[10] & 0x0F) << 8 | section[11])
    streams = []
    while at + 5 <= len(section) - 4:
        streams.append((section[at], (section[at + 1] & 0x1F) << 8 | section[at + 2]))
        at += 5 + ((section[at + 3] & 0x0F) << 8 | section[at + 4])
    return streams


@dataclass
class _Scan:
    program: int | None = None
    pmt_pid: int | None = None
    video_pid: int | None = None
    audio_pid: int | None = None
    video: bool = False
    audio: bool = False
    video_start: int | None = None

    def psi(self, stream: int, payload: bytes) -> None:
        if stream == 0 and self.pmt_pid is None:
            found = _pat(_section(payload))
            if found is not None:
                self.program, self.pmt_pid = found
        elif stream == self.pmt_pid and self.video_pid is None and self.audio_pid is None:
            for stream_type, stream_pid in _pmt(_section(payload)):
                if stream_type in _VIDEO_TYPES and self.video_pid is None:
                    self.video_pid = stream_pid
                elif stream_type in _AUDIO_TYPES and self.audio_pid is None:
                    self.audio_pid = stream_pid


def inspect(data: bytes) -> TsInfo:
    """What the start of a segment says (64 KiB is plenty; 16 KiB finds the first video PTS)."""
    first: dict[int, int] = {}
    scan = _Scan()
    for stream, payload, end in _unit_starts(data):
        if data[payload : payload + 3] != _START_CODE:
            scan.psi(stream, data[payload:end])
            continue
        stream_id = data[payload + 3]
        is_video = 0xE0 <= stream_id <= 0xEF
        scan.video = scan.video or is_video
        scan.audio = scan.audio or 0xC0 <= stream_id <= 0xDF or stream_id == 0xBD
        pts = _pts(data, payload, end)
        if pts is not None and stream not in first:
            first[stream] = pts
            if is_video and scan.video_start is None:
                scan.video_start = pts
    return TsInfo(
        start=min(first.values()) / TICKS_PER_SECOND if first else None,
        video_start=None if scan.video_start is None else scan.video_start / TICKS_PER_SECOND,
        has_video=scan.video or scan.video_pid is not None,
        has_audio=scan.audio or scan.audio_pid is not None,
        program=scan.program,
        pmt_pid=scan.pmt_pid,
        video_pid=scan.video_pid,
        audio_pid=scan.audio_pid,
    )


def elementary_head(data: bytes, stream: int, limit: int = 4096) -> bytes:
    """The first bytes (up to about ``limit``) of the elementary stream carried on PID
    ``stream``: packet payloads with their PES headers removed, so a NAL unit or an ADTS
    header split across packets reads whole."""
    parts: list[bytes] = []
    size = 0
    for at in packet_starts(data):
        if data[at] != SYNC_BYTE or pid(data, at) != stream:
            continue
        start = payload_start(data, at)
        if start is None:
            continue
        payload = data[start : at + PACKET_SIZE]
        if data[at + 1] & 0x40:  # a PES packet starts here: skip its header
            if payload[:3] != _START_CODE or len(payload) < 9:
                continue
            payload = payload[9 + payload[8] :]
        elif not parts:
            continue  # the tail of a PES packet that began before the data
        parts.append(payload)
        size += len(payload)
        if size >= limit:
            break
    return b"".join(parts)


# -- rewriting (the simulator) ----------------------------------------------------------------


def _shift_packet(buf: bytearray, at: int, delta: int) -> None:
    if (buf[at + 3] >> 4) & 0x02 and buf[at + 4] and buf[at + 5] & 0x10:  # a PCR
        write_pcr_base(buf, at + 6, read_pcr_base(buf, at + 6) + delta)
    payload = payload_start(buf, at)
    if payload is None or not buf[at + 1] & 0x40:
        return
    for field in pes_timestamp_fields(buf, payload, at + PACKET_SIZE):
        if field is not None:
            write_timestamp(buf, field, read_timestamp(buf[field : field + 5]) + delta)


def shift_timestamps(data: bytes, delta: int) -> bytes:
    """``data`` (whole 188-byte TS packets) with every PTS, DTS and PCR moved by ``delta`` ticks.

    Raises ValueError for input that is not aligned MPEG-TS.
    """
    if len(data) % PACKET_SIZE:
        raise ValueError(f"TS data of {len(data)} bytes is not a whole number of packets")
    if delta % WRAP == 0:
        return bytes(data)
    buf = bytearray(data)
    for at in range(0, len(buf), PACKET_SIZE):
        if buf[at] != SYNC_BYTE:
            raise ValueError(f"no TS sync byte at offset {at}")
        if pid(buf, at) != NULL_PID:
            _shift_packet(buf, at, delta)
    return bytes(buf)


def payload_counts(data: bytes) -> dict[int, int]:
    """PID -> number of packets carrying a payload (those advance the continuity counter)."""
    counts: dict[int, int] = {}
    for at in packet_starts(data):
        stream = pid(data, at)
        if stream != NULL_PID and data[at + 3] & 0x10:
            counts[stream] = counts.get(stream, 0) + 1
    return counts


def renumber_continuity(data: bytes, first: dict[int, int]) -> bytes:
    """``data`` with each PID's continuity counters counting on from ``first[pid]`` (default 0).

    Segments cut by separate muxers each restart their counters; renumbering them as if cut
    from one stream lets players read consecutive segments without "corrupt packet" errors.
    """
    buf = bytearray(data)
    counters = dict(first)
    for at in packet_starts(buf):
        stream = pid(buf, at)
        if stream == NULL_PID:
            continue
        counter = counters.get(stream, 0)
        if buf[at + 3] & 0x10:
            value, counters[stream] = counter, (counter + 1) % 16
        else:  # adaptation field only: repeats the previous value
            value = (counter - 1) % 16
        buf[at + 3] = (buf[at + 3] & 0xF0) | value
    return bytes(buf)


def null_packet(payload: bytes = b"") -> bytes:
    """One null packet (PID 0x1FFF) carrying ``payload`` (at most 184 bytes, 0xFF-padded)."""
    if len(payload) > PACKET_SIZE - 4:
        raise ValueError("a null packet carries at most 184 bytes")
    return bytes((SYNC_BYTE, 0x1F, 0xFF, 0x10)) + payload.ljust(PACKET_SIZE - 4, b"\xff")


def padding(size: int) -> bytes:
    """Whole null packets totalling at most ``size`` bytes."""
    return null_packet() * max(0, size // PACKET_SIZE)
