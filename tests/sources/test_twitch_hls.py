"""Twitch's dialect over the generic parser, on the real playlists in tests/resources/twitch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamvault.hls.parse import MEDIA_TAGS, is_master, parse_media
from streamvault.sources.twitch_hls import (
    MEDIA_TAGS_TWITCH,
    ad_flags,
    keep_twitch_tag,
    parse_twitch_media,
)
from tests.twitchdata import read


def test_real_live_media_playlist() -> None:
    text = read("media-live-prefetch.m3u8")
    assert not is_master(text)
    playlist = parse_twitch_media(text, "https://example.test/x/index.m3u8")
    assert playlist.target_duration == 5
    assert playlist.media_sequence == 4815
    assert not playlist.endlist
    assert len(playlist.segments) == 17  # 15 segments and 2 prefetch
    regular = [s for s in playlist.segments if not s.prefetch]
    assert len(regular) == 15
    assert [s.sequence for s in playlist.segments] == list(range(4815, 4832))
    first = playlist.segments[0]
    assert first.start == datetime(2023, 9, 17, 2, 31, 48, 242000, tzinfo=UTC)
    assert first.duration == 2.0 and first.title == "live"
    assert first.uri.endswith("/v1/segment/abc-123DEF_456.ts")
    prefetch = playlist.segments[15:]
    assert all(s.prefetch for s in prefetch)
    assert prefetch[0].start == datetime(2023, 9, 17, 2, 32, 18, 242000, tzinfo=UTC)
    assert prefetch[1].start == datetime(2023, 9, 17, 2, 32, 20, 242000, tzinfo=UTC)
    assert prefetch[1].uri.endswith("/v1/segment/tuv-789WXY_012.ts")
    assert len(playlist.date_ranges) == 5
    # None of the non-ad DATERANGEs with END-ON-NEXT makes anything an ad.
    assert not any(ad_flags(playlist))
    assert playlist.tags == {
        "EXT-X-TWITCH-LIVE-SEQUENCE": "4997",
        "EXT-X-TWITCH-ELAPSED-SECS": "9994.338",
        "EXT-X-TWITCH-TOTAL-SECS": "10028.338",
    }


def test_the_twitch_layer_agrees_with_the_generic_parser_on_everything_standard() -> None:
    text = read("media-live-prefetch.m3u8")
    generic = parse_media(text, "https://example.test/x/index.m3u8")
    twitch = parse_twitch_media(text, "https://example.test/x/index.m3u8")
    assert twitch.segments[:15] == generic.segments
    assert twitch.date_ranges == generic.date_ranges
    assert generic.tags == {} and len(generic.segments) == 15


def test_twitch_tags_are_handled_only_by_the_twitch_layer() -> None:
    ours = set(MEDIA_TAGS_TWITCH) - set(MEDIA_TAGS)
    assert ours == {
        "EXT-X-TWITCH-PREFETCH", "EXT-X-SCTE35-OUT", "EXT-X-SCTE35-IN", "EXT-X-CUE-OUT",
        "EXT-X-CUE-IN",
    }  # fmt: skip
    assert all(MEDIA_TAGS_TWITCH[name] is handler for name, handler in MEDIA_TAGS.items())


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("#EXT-X-TWITCH-INFO:NODE=x", {"EXT-X-TWITCH-INFO": "NODE=x"}),
        ("#ext-x-twitch-live-sequence:7", {"EXT-X-TWITCH-LIVE-SEQUENCE": "7"}),
        ("#EXT-X-VENDOR-THING:1", {}),  # other unknown tags are ignored, as before
        ("#EXT-X-TWITCHY:1", {}),
    ],
)
def test_unknown_tags_kept_only_when_twitch(line: str, kept: dict[str, str]) -> None:
    text = f"#EXTM3U\n{line}\n#EXTINF:2,\na.ts\n"
    playlist = parse_twitch_media(text)
    assert playlist.tags == kept
    assert [s.uri for s in playlist.segments] == ["a.ts"]
    assert parse_media(text, tags=MEDIA_TAGS, unknown=keep_twitch_tag).tags == kept


def test_a_prefetch_without_a_listed_segment_has_no_duration_to_guess() -> None:
    playlist = parse_twitch_media("#EXTM3U\n#EXT-X-TWITCH-PREFETCH:p.ts\n", "http://h/")
    (segment,) = playlist.segments
    assert segment.prefetch and segment.duration == 0.0 and segment.uri == "http://h/p.ts"
