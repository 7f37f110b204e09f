"""``CODECS`` strings (RFC 6381, as HLS uses them) from the first bytes of elementary streams.
Pure: no I/O.

- H.264: ``avc1.PPCCLL``, the profile, constraint flags and level bytes of the first sequence
  parameter set (NAL unit type 7) in an Annex B byte stream;
- AAC: ``mp4a.40.N``, N the audio object type of the first ADTS header.
"""

from __future__ import annotations

import re

#: An Annex B start code followed by the header byte of a sequence parameter set.
_SPS = re.compile(rb"\x00\x00\x01([\x07\x27\x47\x67])")


def avc1(stream: bytes) -> str | None:
    """The codec of an H.264 stream from its first SPS, or None when there is none."""
    for match in _SPS.finditer(stream):
        body = stream[match.end() : match.end() + 3]
        if len(body) == 3:
            return "avc1." + body.hex().upper()
    return None


def mp4a(stream: bytes) -> str | None:
    """The codec of an ADTS (AAC) stream from its first header, or None when there is none."""
    for at in range(max(0, len(stream) - 2)):
        if stream[at] == 0xFF and stream[at + 1] & 0xF6 == 0xF0:
            return f"mp4a.40.{(stream[at + 2] >> 6) + 1}"
    return None
