"""The simulator's fMP4 video: real ffmpeg fragments whose decode times run on across loops."""

from __future__ import annotations

import struct
from pathlib import Path

from streamvault.sim.fmp4 import boxes, build_fragment, render_fmp4_loop
from streamvault.sim.video import LoopSpec


def decode_times(fragment: bytes) -> list[int]:
    """baseMediaDecodeTime of every track fragment, in order."""
    times = []
    for kind, offset, size in boxes(fragment):
        if kind != b"moof":
            continue
        for traf, t_offset, t_size in boxes(fragment, offset + 8, offset + size):
            if traf != b"traf":
                continue
            for child, c_offset, _ in boxes(fragment, t_offset + 8, t_offset + t_size):
                if child == b"tfdt":
                    form = ">Q" if fragment[c_offset + 8] == 1 else ">I"
                    times.append(struct.unpack_from(form, fragment, c_offset + 12)[0])
    return times


async def test_fragments_continue_across_loops_and_differ(tmp_path: Path) -> None:
    spec = LoopSpec(142, 80, 30, 2.0, 4)
    loop = await render_fmp4_loop(spec, tmp_path)
    assert loop.init[4:8] == b"ftyp" and sorted(loop.scales) == [1, 2]
    first, again = build_fragment(loop, "c", "q", 1), build_fragment(loop, "c", "q", 5)
    assert first != again  # labelled per sequence
    shift = [round(spec.loop_seconds * loop.scales[track]) for track in (1, 2)]
    assert [b - a for a, b in zip(decode_times(first), decode_times(again), strict=True)] == shift
    assert (await render_fmp4_loop(spec, tmp_path)).pieces == loop.pieces  # from the cache
