from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamvault.restreamer.probe import codecs_of
from streamvault.restreamer.render import (
    Variant,
    VideoInfo,
    bandwidth,
    master_playlist,
    media_playlist,
    target_duration,
)
from streamvault.store.naming import Segment
from streamvault.store.select import select_segments

T = datetime(2026, 11, 28, 3, 59, 58, tzinfo=UTC)
HASH = "47DEQpj8HBSa_-TImW_5JCeuQeRkm5NMpJWZG3hSuFU"


def seg(offset: float, duration: float = 2.0, type: str = "full") -> Segment:
    return Segment("ch", "source", T + timedelta(seconds=offset), duration, type, HASH)  # type: ignore[arg-type]


def test_media_playlist_lines() -> None:
    segments = [seg(0), seg(2), seg(4, 2.5)]
    text = media_playlist(select_segments(segments, T, T + timedelta(seconds=6)), ended=True)
    lines = text.splitlines()
    assert lines[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:3",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    assert lines[5] == "#EXT-X-PROGRAM-DATE-TIME:2026-11-28T03:59:58.000000Z"
    assert lines[6] == "#EXTINF:2.0,"
    # the second segment lives in the next hour directory
    assert lines[10] == f"../../segments/ch/source/2026-11-28T04/00:00.000000-2.0-full-{HASH}.ts"
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-DISCONTINUITY" not in text


def test_discontinuity_at_every_hole_but_not_at_the_edges() -> None:
    segments = [seg(2), seg(4), seg(10), seg(12, type="partial"), seg(14)]
    selection = select_segments(segments, T, T + timedelta(seconds=30))
    text = media_playlist(selection, ended=False)
    lines = text.splitlines()
    assert text.count("#EXT-X-DISCONTINUITY") == 2  # the gap 6..10 and after the partial
    first = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[first + 1].startswith("#EXT-X-PROGRAM-DATE-TIME:2026-11-28T04:00:08")
    assert "#EXT-X-ENDLIST" not in text
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text
    assert lines[5].startswith("#EXT-X-PROGRAM-DATE-TIME")  # no marker for the leading hole


def test_target_duration_is_the_integer_ceiling() -> None:
    assert target_duration([seg(0, 2.0)]) == 2
    assert target_duration([seg(0, 2.002), seg(2, 1.0)]) == 3
    assert target_duration([seg(0, 2.0000000001)]) == 2
    assert target_duration([]) == 1


def test_master_playlist() -> None:
    video = VideoInfo((1920, 1080), 60.0, ("avc1.64002A", "mp4a.40.2"))
    text = master_playlist(
        [
            Variant("source", 3_000_000, "ch/source.m3u8?start=x", video),
            Variant("audio", 100_000, "ch/audio.m3u8"),  # nothing known but the bandwidth
        ]
    )
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="source",NAME="source",AUTOSELECT=YES,DEFAULT=YES',
        "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1920x1080,FRAME-RATE=60.000,"
        'CODECS="avc1.64002A,mp4a.40.2",NAME="source"',
        "ch/source.m3u8?start=x",
        '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="audio",NAME="audio",AUTOSELECT=YES,DEFAULT=YES',
        '#EXT-X-STREAM-INF:BANDWIDTH=100000,NAME="audio"',
        "ch/audio.m3u8",
    ]


def test_codecs_of_a_real_segment(segment_datas: list[bytes]) -> None:
    # testsrc renders 4:4:4, so x264 picks High 4:4:4 Predictive (244 = 0xF4), level 1.1
    assert codecs_of(segment_datas[0]) == ("avc1.F4000B", "mp4a.40.2")


def test_bandwidth() -> None:
    sized = Segment("c", "q", T, 2.0, "full", HASH, size=500_000)
    assert bandwidth([sized, seg(2)]) == 2_000_000  # unknown sizes are left out
    assert bandwidth([]) == 1


def test_ffmpeg_stream_lines_give_size_and_frame_rate() -> None:
    from streamvault.restreamer.probe import describe

    text = (
        "Input #0, mpegts, from 'x.ts':\n"
        "  Stream #0:0[0x100]: Video: h264 (High) ([27][0][0][0] / 0x001B), yuv420p(tv, "
        "bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 59.94 fps, 59.94 tbr, 90k tbn\n"
        "  Stream #0:1[0x101](und): Audio: aac (LC) ([15][0][0][0] / 0x000F), 48000 Hz\n"
    )
    assert describe(text) == ((1920, 1080), 59.94)
    assert describe("  Stream #0:0: Audio: aac, 48000 Hz\n") == (None, None)
