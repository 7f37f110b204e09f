"""Pure playlist rendering: both master styles, Twitch media playlist headers, ad markings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamvault.sim.config import quality_info
from streamvault.sim.playlists import (
    AdBreak,
    MediaEntry,
    MediaPlaylist,
    Variant,
    format_pdt,
    render_master_ivs_style,
    render_master_media_style,
    render_media,
)

T0 = datetime(2026, 11, 28, 4, 5, 6, 789000, tzinfo=UTC)


def variants(portrait: bool) -> list[Variant]:
    out = [Variant(quality_info("source"), "https://cdn/source.m3u8")]
    for name in ("720p60", "480p"):
        if portrait:
            out.append(Variant(quality_info(name), f"https://cdn/{name}-p.m3u8", portrait=True))
        out.append(Variant(quality_info(name), f"https://cdn/{name}.m3u8"))
    return out


def test_master_media_style_names_source_and_groups() -> None:
    lines = render_master_media_style(variants(False), 1.0).splitlines()
    assert lines[0] == "#EXTM3U"
    media = [line for line in lines if line.startswith("#EXT-X-MEDIA:")]
    assert 'GROUP-ID="chunked",NAME="1080p60 (source)"' in media[0]
    assert 'GROUP-ID="720p60",NAME="720p60"' in media[1]
    plain = render_master_media_style(variants(False), 1.0, source_name="Source")
    assert '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="chunked",NAME="Source"' in plain
    assert 'GROUP-ID="480p30",NAME="480p"' in media[2]
    index = lines.index(media[2])
    assert lines[index + 1].startswith("#EXT-X-STREAM-INF:")
    assert 'VIDEO="480p30"' in lines[index + 1]
    assert lines[index + 2] == "https://cdn/480p.m3u8"


def test_master_ivs_style_has_no_media_tags_and_portrait_twins() -> None:
    lines = render_master_ivs_style(variants(True)).splitlines()
    assert not any(line.startswith("#EXT-X-MEDIA") for line in lines)
    infs = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert 'IVS-NAME="1080p60"' in infs[0] and 'IVS-GROUPS="landscape"' in infs[0]
    assert 'IVS-VARIANT-SOURCE="source"' in infs[0]
    portrait = [i for i in infs if 'IVS-NAME="480p"' in i and 'IVS-GROUPS="portrait"' in i]
    assert portrait and 'STABLE-VARIANT-ID="480p30-portrait"' in portrait[0]
    assert "RESOLUTION=480x854" in portrait[0]
    landscape = [i for i in infs if 'STABLE-VARIANT-ID="480p30"' in i]
    assert landscape and 'IVS-GROUPS="landscape"' in landscape[0]
    assert all('IVS-VARIANT-SOURCE="source"' in inf for inf in infs)
    assert lines[lines.index(landscape[0]) + 1] == "https://cdn/480p.m3u8"


def entries(ad: AdBreak | None = None, ads: range = range(0)) -> list[MediaEntry]:
    return [
        MediaEntry(s, T0 + timedelta(seconds=2 * s), 2.0, f"https://cdn/{s}.ts",
                   ad if s in ads else None)
        for s in range(10, 16)
    ]  # fmt: skip


def playlist(items: list[MediaEntry], **kwargs: object) -> list[str]:
    return render_media(
        MediaPlaylist(items, 2.0, T0, 20.0, **kwargs)  # type: ignore[arg-type]
    ).splitlines()


def test_media_playlist_has_twitch_headers_and_a_tag_per_segment() -> None:
    lines = playlist(entries())
    assert lines[:4] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:5",
                         "#EXT-X-MEDIA-SEQUENCE:10"]  # fmt: skip
    assert "#EXT-X-TWITCH-LIVE-SEQUENCE:15" in lines
    assert "#EXT-X-TWITCH-ELAPSED-SECS:20.000" in lines
    assert "#EXT-X-TWITCH-TOTAL-SECS:32.000" in lines
    assert lines.count("#EXTINF:2.000,live") == 6
    assert f"#EXT-X-PROGRAM-DATE-TIME:{format_pdt(T0 + timedelta(seconds=20))}" in lines
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-28T04:05:26.789Z" in lines
    assert lines[-1] == "https://cdn/15.ts"
    assert "#EXT-X-ENDLIST" not in lines


def test_a_gap_in_sequences_is_a_discontinuity() -> None:
    items = [e for e in entries() if e.sequence not in (12, 13)]
    lines = playlist(items)
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    index = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[index - 1] == "https://cdn/11.ts"
    assert lines[index + 2] == "#EXTINF:2.000,live" and lines[index + 3] == "https://cdn/14.ts"


def test_prefetch_and_endlist() -> None:
    lines = playlist(entries(), prefetch=["https://cdn/16.ts", "https://cdn/17.ts"], endlist=True)
    assert lines[-3:] == ["#EXT-X-TWITCH-PREFETCH:https://cdn/16.ts",
                          "#EXT-X-TWITCH-PREFETCH:https://cdn/17.ts", "#EXT-X-ENDLIST"]  # fmt: skip


def ad_lines(marking: str) -> list[str]:
    ad = AdBreak("alpha-12", marking, T0 + timedelta(seconds=24), 6.0)
    return playlist(entries(ad, range(12, 15)))


def test_daterange_ad_break() -> None:
    lines = ad_lines("daterange")
    daterange = [line for line in lines if "twitch-stitched-ad" in line]
    assert len(daterange) == 1
    assert 'ID="stitched-ad-alpha-12"' in daterange[0]
    assert 'START-DATE="2026-11-28T04:05:30.789Z",DURATION=6.000' in daterange[0]
    assert lines.count("#EXT-X-DISCONTINUITY") == 2
    assert not any("Amazon" in line or "SCTE35" in line for line in lines)


def test_amazon_ad_break() -> None:
    lines = ad_lines("amazon")
    assert lines.count("#EXTINF:2.000,Amazon|alpha-12") == 3
    assert not any("stitched" in line or "SCTE35" in line for line in lines)


def test_scte35_ad_break() -> None:
    lines = ad_lines("scte35")
    out = [i for i, line in enumerate(lines) if line.startswith("#EXT-X-SCTE35-OUT")]
    back = [i for i, line in enumerate(lines) if line == "#EXT-X-SCTE35-IN"]
    assert len(out) == 1 and len(back) == 1
    between = [line for line in lines[out[0] : back[0]] if line.startswith("https://")]
    assert between == ["https://cdn/12.ts", "https://cdn/13.ts", "https://cdn/14.ts"]
