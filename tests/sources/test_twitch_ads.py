from __future__ import annotations

from streamvault.sources.twitch_hls import ad_flags, parse_twitch_media

HEAD = "#EXTM3U\n#EXT-X-TARGETDURATION:5\n#EXT-X-MEDIA-SEQUENCE:100\n"


def seg(second: int, title: str = "live", duration: str = "2.000") -> str:
    return (
        f"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:{second:02d}.000Z\n"
        f"#EXTINF:{duration},{title}\nhttp://cdn/{second}.ts\n"
    )


def test_amazon_titles_including_short_last_segment() -> None:
    text = (
        HEAD
        + seg(0)
        + "#EXT-X-DISCONTINUITY\n"
        + seg(2, "Amazon|123")
        + seg(4, "Amazon|124", "0.168")
        + "#EXT-X-DISCONTINUITY\n"
        + seg(6)
    )
    assert ad_flags(parse_twitch_media(text)) == [False, True, True, False]


def test_stitched_ad_daterange_by_class() -> None:
    text = (
        HEAD
        + (
            '#EXT-X-DATERANGE:ID="abc",CLASS="twitch-stitched-ad",START-DATE='
            '"2026-01-01T00:00:02.000Z",DURATION=4.0,X-TV-TWITCH-AD-URL="https://x,y"\n'
        )
        + seg(0)
        + seg(2, "old-title")
        + seg(4, "old-title")
        + seg(6)
    )
    assert ad_flags(parse_twitch_media(text)) == [False, True, True, False]


def test_stitched_ad_daterange_by_id_with_end_on_next() -> None:
    text = (
        HEAD
        + (
            '#EXT-X-DATERANGE:ID="stitched-ad-1",CLASS="x",START-DATE="2026-01-01T00:00:02Z",'
            "END-ON-NEXT=YES\n"
            '#EXT-X-DATERANGE:ID="next",CLASS="x",START-DATE="2026-01-01T00:00:06Z",END-ON-NEXT=YES\n'
        )
        + seg(0)
        + seg(2)
        + seg(4)
        + seg(6)
    )
    assert ad_flags(parse_twitch_media(text)) == [False, True, True, False]


def test_non_ad_dateranges_with_end_on_next_are_not_ads() -> None:
    text = (
        HEAD
        + (
            '#EXT-X-DATERANGE:ID="source-1",CLASS="twitch-stream-source",'
            'START-DATE="2026-01-01T00:00:00Z",END-ON-NEXT=YES\n'
        )
        + seg(0)
        + seg(2)
    )
    assert ad_flags(parse_twitch_media(text)) == [False, False]


def test_scte35_out_with_attributes() -> None:
    text = (
        HEAD
        + seg(0)
        + '#EXT-X-SCTE35-OUT:URL="https://ads/x?a=1,b=2"\n'
        + seg(2)
        + seg(4)
        + "#EXT-X-SCTE35-IN\n"
        + seg(6)
    )
    assert ad_flags(parse_twitch_media(text)) == [False, True, True, False]


def test_scte35_out_without_attributes() -> None:
    text = HEAD + seg(0) + "#EXT-X-SCTE35-OUT\n" + seg(2) + "#EXT-X-SCTE35-IN\n" + seg(4)
    assert ad_flags(parse_twitch_media(text)) == [False, True, False]


def test_twitch_ad_attributes_mark_an_ad_and_other_classes_do_not() -> None:
    """SPEC §6.9: X-TV-TWITCH-AD-* attributes make a range an ad whatever its CLASS; a
    twitch-trigger range over content (END-ON-NEXT, no next) never does."""
    text = "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-TARGETDURATION:5",
            '#EXT-X-DATERANGE:ID="trigger-1",CLASS="twitch-trigger",'
            'START-DATE="2026-05-01T00:00:00.000Z",END-ON-NEXT=YES,'
            'X-TV-TWITCH-TRIGGER-URL="https://example.invalid/t"',
            '#EXT-X-DATERANGE:ID="pod-7",CLASS="twitch-ad-pod",'
            'START-DATE="2026-05-01T00:00:04.000Z",DURATION=2.0,'
            'X-TV-TWITCH-AD-ROLL-TYPE="MIDROLL"',
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:00.000Z",
            "#EXTINF:2.000,live",
            "a.ts",
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:02.000Z",
            "#EXTINF:2.000,live",
            "b.ts",
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:04.000Z",
            "#EXTINF:2.000,live",
            "c.ts",
            "#EXT-X-PROGRAM-DATE-TIME:2026-05-01T00:00:06.000Z",
            "#EXTINF:2.000,live",
            "d.ts",
        ]
    )
    assert ad_flags(parse_twitch_media(text)) == [False, False, True, False]
