from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamvault.errors import BadPlaylist
from streamvault.hls.parse import (
    MASTER_TAGS,
    MEDIA_TAGS,
    MediaState,
    parse_attributes,
    parse_date,
    parse_master,
    parse_media,
)
from tests.twitchdata import read


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-09-17T02:31:48.242Z", datetime(2023, 9, 17, 2, 31, 48, 242000, tzinfo=UTC)),
        ("2024-01-02T16:39:31.928999994Z", datetime(2024, 1, 2, 16, 39, 31, 928999, tzinfo=UTC)),
        ("2024-01-02T16:39:31Z", datetime(2024, 1, 2, 16, 39, 31, tzinfo=UTC)),
        ("2024-01-02T18:39:31.5+02:00", datetime(2024, 1, 2, 16, 39, 31, 500000, tzinfo=UTC)),
        ("2024-01-02T16:39:31.1234567", datetime(2024, 1, 2, 16, 39, 31, 123456, tzinfo=UTC)),
    ],
)
def test_parse_date_keeps_microseconds(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        # what this parser's own regex took before timeutil's one grammar (the strictest):
        "2023-09-17t02:31:48.242Z",
        "2023-09-17T02:31:48,242Z",
        "2023-09-17T02:31:48.242z",
        "2023-09-17T02:31:48.242 Z",
    ],
)
def test_parse_date_rejects_garbage(text: str) -> None:
    with pytest.raises(BadPlaylist, match="bad date-time"):
        parse_date(text)
    with pytest.raises(BadPlaylist):
        parse_media(_media(f"#EXT-X-PROGRAM-DATE-TIME:{text}", "#EXTINF:2,", "a.ts"))


def test_attributes_with_quoted_commas() -> None:
    attrs = parse_attributes('BANDWIDTH=1,CODECS="avc1.4D402A,mp4a.40.2",IVS-GROUPS="a,b",X=y')
    assert attrs == {
        "BANDWIDTH": "1",
        "CODECS": "avc1.4D402A,mp4a.40.2",
        "IVS-GROUPS": "a,b",
        "X": "y",
    }


def test_real_live_media_playlist_without_a_dialect() -> None:
    """The generic table on Twitch's playlist: every standard tag read, every Twitch one
    ignored (RFC 8216 §6.3.1): no prefetch segments, no tags kept."""
    text = read("media-live-prefetch.m3u8")
    playlist = parse_media(text, "https://example.test/x/index.m3u8")
    assert playlist.target_duration == 5
    assert playlist.media_sequence == 4815
    assert not playlist.endlist
    assert [s.sequence for s in playlist.segments] == list(range(4815, 4830))
    assert not any(s.prefetch or s.in_scte35_break for s in playlist.segments)
    assert playlist.segments[-1].uri.endswith("/v1/segment/hij-567KLM_890.ts")
    assert playlist.segments[-1].start == datetime(2023, 9, 17, 2, 32, 16, 242000, tzinfo=UTC)
    assert len(playlist.date_ranges) == 5
    assert playlist.tags == {}
    # each END-ON-NEXT range closed by the next of its class (none here: each class once)
    assert all(r.end_on_next and r.end is None for r in playlist.date_ranges)


def test_the_generic_table_names_only_standard_tags() -> None:
    assert "EXTINF" in MEDIA_TAGS and "EXT-X-DATERANGE" in MEDIA_TAGS
    assert not [name for name in MEDIA_TAGS if not name.startswith(("EXTINF", "EXT-X-"))]
    assert not [name for name in (*MEDIA_TAGS, *MASTER_TAGS) if "TWITCH" in name or "SCTE" in name]


def test_an_unknown_tag_goes_to_the_unknown_handler_and_changes_nothing() -> None:
    text = _media(
        "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:00.000Z",
        "#EXT-X-VENDOR-THING:1",
        "#EXTINF:2.0,",
        "#EXT-X-SCTE35-OUT",
        "a.ts",
        "# a comment",
        "#EXT-X-VENDOR-PREFETCH:b.ts",
    )
    seen: list[tuple[str, str]] = []
    playlist = parse_media(text, unknown=lambda state, name, value: seen.append((name, value)))
    assert seen == [("EXT-X-VENDOR-THING", "1"), ("EXT-X-SCTE35-OUT", ""), (" A COMMENT", ""),
                    ("EXT-X-VENDOR-PREFETCH", "b.ts")]  # fmt: skip
    assert playlist == parse_media(text)  # ignored by default
    (segment,) = playlist.segments
    assert segment.uri == "a.ts" and not segment.in_scte35_break and not segment.prefetch


def test_a_dialect_adds_handlers_to_the_table() -> None:
    """A handler sees the state: here a made-up tag that adds a segment, as a prefetch tag
    does, and one that a playlist-wide tag keeps."""

    def early(state: MediaState, value: str) -> None:
        state.add(value, prefetch=True)

    def keep(state: MediaState, value: str) -> None:
        state.tags["X-NOTE"] = value

    table = {**MEDIA_TAGS, "EXT-X-EARLY": early, "EXT-X-NOTE": keep}
    text = _media(
        "#EXT-X-NOTE:hello",
        "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:00.000Z",
        "#EXTINF:2.5,",
        "a.ts",
        "#ext-x-early:b.ts",  # names are matched upper-case
    )
    playlist = parse_media(text, "http://h/p/", tags=table)
    assert [(s.uri, s.prefetch, s.duration) for s in playlist.segments] == [
        ("http://h/p/a.ts", False, 2.5), ("http://h/p/b.ts", True, 2.5)
    ]  # fmt: skip
    assert playlist.segments[1].start == datetime(2026, 5, 1, 0, 0, 2, 500000, tzinfo=UTC)
    assert playlist.tags == {"X-NOTE": "hello"}
    assert len(parse_media(text).segments) == 1  # the standard table knows neither


def test_master_tags_table_can_be_extended() -> None:
    text = read("master-v1-chunked.m3u8")
    seen: list[str] = []
    table = {**MASTER_TAGS, "EXT-X-TWITCH-INFO": lambda state, value: seen.append(value)}
    assert parse_master(text, "https://x/", tags=table) == parse_master(text, "https://x/")
    assert len(seen) == 1 and "SERVING-ID=" in seen[0]


def test_start_without_program_date_time_follows_previous() -> None:
    text = (
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n"
        "#EXTINF:2.002,\na.ts\n#EXTINF:1.5,\nb.ts\n#EXTINF:2,\nc.ts\n#EXT-X-ENDLIST\n"
    )
    playlist = parse_media(text, "http://h/p/index.m3u8")
    starts = [s.start for s in playlist.segments]
    assert starts[1] == datetime(2026, 1, 1, 0, 0, 2, 2000, tzinfo=UTC)
    assert starts[2] == datetime(2026, 1, 1, 0, 0, 3, 502000, tzinfo=UTC)
    assert playlist.segments[1].program_date_time is None
    assert playlist.segments[0].uri == "http://h/p/a.ts"
    assert playlist.endlist


def test_no_program_date_time_at_all() -> None:
    playlist = parse_media("#EXTM3U\n#EXTINF:2,\na.ts\n", "")
    assert playlist.segments[0].start is None


@pytest.mark.parametrize("text", ["", "hello", "#EXTM3U\n#EXTINF:abc,\na.ts\n", "#EXTM3U\na.ts\n"])
def test_bad_media_playlists(text: str) -> None:
    with pytest.raises(BadPlaylist):
        parse_media(text)


def test_map_applies_to_later_segments() -> None:
    text = '#EXTM3U\n#EXTINF:2,\na.ts\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2,\nb.m4s\n'
    playlist = parse_media(text, "http://h/p/")
    assert playlist.segments[0].map_uri is None
    assert playlist.segments[1].map_uri == "http://h/p/init.mp4"


def test_master_v1_chunked() -> None:
    master = parse_master(read("master-v1-chunked.m3u8"), "https://x/")
    assert len(master.variants) == 6
    assert len(master.renditions) == 6
    first = master.variants[0]
    assert first.bandwidth == 5898203
    rendition = master.rendition_for(first)
    assert rendition is not None and rendition.group_id == "chunked"
    assert rendition.name == "1080p60"


def test_master_usher_v2_relative_uris() -> None:
    master = parse_master(read("master-usher-v2-live.m3u8"), "https://usher.test/api/x.m3u8")
    assert len(master.variants) == 12
    assert master.variants[0].uri == "https://usher.test/1440p60.m3u8"
    assert master.variants[0].attributes["IVS-NAME"] == "1440p60"
    assert not master.renditions


def test_master_without_variants() -> None:
    with pytest.raises(BadPlaylist):
        parse_master("#EXTM3U\n#EXT-X-VERSION:3\n")


def _media(*entries: str) -> str:
    return "\n".join(["#EXTM3U", "#EXT-X-TARGETDURATION:5", *entries]) + "\n"


@pytest.mark.parametrize("duration", ["nan", "inf", "-inf", "0", "-2.0", "1e300"])
def test_an_absurd_extinf_leaves_that_segment_out_with_one_line(duration: str) -> None:
    playlist = parse_media(
        _media(
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:00.000Z",
            "#EXTINF:2.0,",
            "a.ts",
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:02.000Z",
            f"#EXTINF:{duration},",
            "b.ts",
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:04.000Z",
            "#EXTINF:2.0,",
            "c.ts",
        )
    )
    assert [s.uri for s in playlist.segments] == ["a.ts", "c.ts"]
    assert [s.sequence for s in playlist.segments] == [0, 2]
    assert len(playlist.rejected) == 1 and "segment 1" in playlist.rejected[0]


def test_a_date_whose_end_overflows_leaves_that_segment_out() -> None:
    playlist = parse_media(
        _media("#EXT-X-PROGRAM-DATE-TIME:9999-12-31T23:59:59.000Z", "#EXTINF:2.0,", "a.ts")
    )
    assert playlist.segments == () and "overflows" in playlist.rejected[0]


def test_a_date_that_cannot_be_converted_to_utc_is_a_bad_playlist() -> None:
    with pytest.raises(BadPlaylist):
        parse_media(_media("#EXT-X-PROGRAM-DATE-TIME:0001-01-01T00:00:00+05:00", "#EXTINF:2,", "a"))


def test_a_playlist_past_the_line_cap_is_refused_before_it_is_split() -> None:
    text = _media(*(["#EXTINF:2.0,", "x.ts"] * 60_000))
    with pytest.raises(BadPlaylist, match="more than 20000 lines"):
        parse_media(text)
    with pytest.raises(BadPlaylist, match="more than 10 lines"):
        parse_master(_media(*(["#EXT-X-STREAM-INF:BANDWIDTH=1", "v.m3u8"] * 6)), max_lines=10)


@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_an_absurd_media_sequence_is_a_bad_playlist(value: str) -> None:
    with pytest.raises(BadPlaylist):
        parse_media(_media(f"#EXT-X-MEDIA-SEQUENCE:{value}", "#EXTINF:2.0,", "a.ts"))
