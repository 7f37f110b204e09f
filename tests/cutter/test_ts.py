from __future__ import annotations

from streamvault.cutter.ts import inspect


def test_first_timestamp_and_streams_of_real_segments(segment_datas: list[bytes]) -> None:
    first, second = inspect(segment_datas[1]), inspect(segment_datas[2])
    assert first.has_video and first.has_audio
    assert first.start is not None and second.start is not None
    assert abs((second.start - first.start) - 2.0) < 0.03  # continuous timestamps, 2 s apart


def test_garbage_has_no_timestamp() -> None:
    info = inspect(b"\x47" + b"\x00" * 1000)
    assert (info.start, info.has_video, info.has_audio) == (None, False, False)
    assert inspect(b"").start is None
