from __future__ import annotations

import pytest

from streamvault.hls.parse import parse_master
from streamvault.sources.variants import choose_variant
from tests.twitchdata import read

V2 = parse_master(read("master-usher-v2-live.m3u8"), "https://u/x.m3u8")
V1 = parse_master(read("master-v1-chunked.m3u8"), "https://u/x.m3u8")


@pytest.mark.parametrize(
    ("quality", "expected"),
    [
        ("source", "https://u/1440p60.m3u8"),  # first landscape, HEVC best
        ("1080p60", "https://u/1080p60.m3u8"),  # landscape preferred over the portrait twin
        ("720p60", "https://u/720p60.m3u8"),
        ("480p", "https://u/480p30.m3u8"),
        ("720p60-portrait", "https://u/720p60-portrait.m3u8"),  # STABLE-VARIANT-ID
        ("480p30", "https://u/480p30.m3u8"),
        ("Audio Only", "https://u/audio_only.m3u8"),
        ("900p", None),
    ],
)
def test_usher_v2(quality: str, expected: str | None) -> None:
    variant = choose_variant(V2, quality)
    assert (variant.uri if variant else None) == expected


@pytest.mark.parametrize(
    ("quality", "expected"),
    [
        ("source", "chunked"),
        ("720p60", "720p60"),
        ("480p", "480p30"),
        ("160p", "160p30"),
        ("1080p60", "chunked"),
        ("900p", None),
    ],
)
def test_older_media_style(quality: str, expected: str | None) -> None:
    variant = choose_variant(V1, quality)
    assert (variant.uri.split("/")[-2] if variant else None) == expected


def _media_master(source_name: str, group: str = "chunked") -> str:
    return (
        "#EXTM3U\n"
        '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="480p30",NAME="480p",AUTOSELECT=YES\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=1,VIDEO="480p30"\nlow.m3u8\n'
        f'#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="{group}",NAME="{source_name}",AUTOSELECT=YES\n'
        f'#EXT-X-STREAM-INF:BANDWIDTH=2,VIDEO="{group}"\nsrc.m3u8\n'
    )


@pytest.mark.parametrize("name", ["1080p60 (source)", "1080p (source)", "Source"])
def test_source_names_over_the_years(name: str) -> None:
    variant = choose_variant(parse_master(_media_master(name), "http://h/"), "source")
    assert variant is not None and variant.uri == "http://h/src.m3u8"


def test_source_named_but_not_grouped() -> None:
    master = parse_master(_media_master("Source", group="src"), "http://h/")
    variant = choose_variant(master, "source")
    assert variant is not None and variant.uri == "http://h/src.m3u8"


def test_plain_master_source_is_highest_bandwidth() -> None:
    text = (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=10\na.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=99\nb.m3u8\n"
    )
    master = parse_master(text, "http://h/")
    variant = choose_variant(master, "source")
    assert variant is not None and variant.uri == "http://h/b.m3u8"
    assert choose_variant(master, "480p") is None
