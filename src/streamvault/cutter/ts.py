"""Just enough MPEG-TS to plan a cut: timestamps, stream kinds and PIDs, read from the start of
a segment (PAT, PMT and the first PES headers). Pure: no I/O.

Re-encoded edges of ``fast`` and ``smart`` cuts are muxed with the source's PIDs, program number
and timestamps, so their bytes join the copied segments' bytes as one stream.
"""

from __future__ import annotations

from dataclasses import dataclass

PACKET = 188
SYNC = 0x47
CLOCK = 90_000  # PTS ticks per second
WRAP = 1 << 33  # PTS wrap-around

_VIDEO_TYPES = {0x01, 0x02, 0x10, 0x1B, 0x24}
_AUDIO_TYPES = {0x03, 0x04, 0x0F, 0x11, 0x81, 0x87}


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


def _payload(packet: bytes) -> bytes | None:
    adaptation = (packet[3] >> 4) & 0x3
    offset = 4
    if adaptation in (2, 3):
        offset += 1 + packet[4]
    if adaptation == 2 or offset >= PACKET:
        return None
    return packet[offset:]


def _pts(payload: bytes) -> int | None:
    if len(payload) < 14 or not payload[7] & 0x80:
        return None
    b = payload[9:14]
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


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

    def psi(self, pid: int, payload: bytes) -> None:
        if pid == 0 and self.pmt_pid is None:
            found = _pat(_section(payload))
            if found is not None:
                self.program, self.pmt_pid = found
        elif pid == self.pmt_pid and self.video_pid is None and self.audio_pid is None:
            for stream_type, stream_pid in _pmt(_section(payload)):
                if stream_type in _VIDEO_TYPES and self.video_pid is None:
                    self.video_pid = stream_pid
                elif stream_type in _AUDIO_TYPES and self.audio_pid is None:
                    self.audio_pid = stream_pid


def inspect(data: bytes) -> TsInfo:
    """What the start of a segment says (64 KiB is plenty; 16 KiB finds the first video PTS)."""
    first: dict[int, int] = {}
    scan = _Scan()
    for at in range(0, len(data) - PACKET + 1, PACKET):
        packet = data[at : at + PACKET]
        if packet[0] != SYNC or not packet[1] & 0x40:
            continue
        payload = _payload(packet)
        if payload is None:
            continue
        pid = (packet[1] & 0x1F) << 8 | packet[2]
        if payload[:3] != b"\x00\x00\x01":
            scan.psi(pid, payload)
            continue
        stream_id = payload[3]
        is_video = 0xE0 <= stream_id <= 0xEF
        scan.video = scan.video or is_video
        scan.audio = scan.audio or 0xC0 <= stream_id <= 0xDF or stream_id == 0xBD
        pts = _pts(payload)
        if pts is not None and pid not in first:
            first[pid] = pts
            if is_video and scan.video_start is None:
                scan.video_start = pts
    return TsInfo(
        start=min(first.values()) / CLOCK if first else None,
        video_start=None if scan.video_start is None else scan.video_start / CLOCK,
        has_video=scan.video or scan.video_pid is not None,
        has_audio=scan.audio or scan.audio_pid is not None,
        program=scan.program,
        pmt_pid=scan.pmt_pid,
        video_pid=scan.video_pid,
        audio_pid=scan.audio_pid,
    )


def elementary_head(data: bytes, pid: int, limit: int = 4096) -> bytes:
    """The first bytes (up to about ``limit``) of the elementary stream carried on ``pid``:
    packet payloads with their PES headers removed, so a NAL unit or an ADTS header split
    across packets reads whole."""
    parts: list[bytes] = []
    size = 0
    for at in range(0, len(data) - PACKET + 1, PACKET):
        packet = data[at : at + PACKET]
        if packet[0] != SYNC or ((packet[1] & 0x1F) << 8 | packet[2]) != pid:
            continue
        payload = _payload(packet)
        if payload is None:
            continue
        if packet[1] & 0x40:  # a PES packet starts here: skip its header
            if payload[:3] != b"\x00\x00\x01" or len(payload) < 9:
                continue
            payload = payload[9 + payload[8] :]
        elif not parts:
            continue  # the tail of a PES packet that began before the data
        parts.append(payload)
        size += len(payload)
        if size >= limit:
            break
    return b"".join(parts)


def continuous(starts: list[float | None], durations: list[float], tolerance: float = 0.05) -> bool:
    """Whether each segment's first video timestamp follows on from the one before it."""
    if any(start is None for start in starts):
        return False
    period = WRAP / CLOCK
    for before, after, duration in zip(starts, starts[1:], durations, strict=False):
        assert before is not None and after is not None
        step = (after - before) % period
        if abs(step - duration) > tolerance:
            return False
    return True
