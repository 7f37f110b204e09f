from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streamvault.downloader.service import ChannelSpec, parse_channel
from streamvault.downloader.tracker import PlaylistTracker, SegmentRegistry
from streamvault.errors import ConfigError
from streamvault.sources.twitch_hls import parse_twitch_media

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def playlist(
    first: int,
    count: int,
    ads: tuple[int, ...] = (),
    skew: dict[int, float] | None = None,
    prefetch: int = 0,
    pdt: bool = True,
) -> str:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:5", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for seq in range(first, first + count):
        start = T0 + timedelta(seconds=2 * seq + (skew or {}).get(seq, 0.0))
        if pdt:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{start:%Y-%m-%dT%H:%M:%S.%f}Z")
        title = "Amazon|x" if seq in ads else "live"
        lines += [f"#EXTINF:2.000,{title}", f"http://cdn/{seq}.ts"]
    lines += [f"#EXT-X-TWITCH-PREFETCH:http://cdn/{first + count + i}.ts" for i in range(prefetch)]
    return "\n".join(lines) + "\n"


def update(tracker: PlaylistTracker, text: str, now: datetime = T0):  # type: ignore[no-untyped-def]
    return tracker.update(parse_twitch_media(text), now)


def test_new_segments_once_each_across_polls() -> None:
    tracker = PlaylistTracker()
    first = update(tracker, playlist(10, 3))
    assert [f.segment.sequence for f in first.fetch] == [10, 11, 12]
    assert first.became_working
    second = update(tracker, playlist(11, 3))
    assert [f.segment.sequence for f in second.fetch] == [13]
    assert not second.became_working
    assert second.fetch[0].start == T0 + timedelta(seconds=26)


def test_prefetch_fetched_early_and_not_again() -> None:
    tracker = PlaylistTracker()
    first = update(tracker, playlist(10, 2, prefetch=2))
    assert [f.segment.sequence for f in first.fetch] == [10, 11, 12, 13]
    assert first.fetch[2].start == T0 + timedelta(seconds=24)
    second = update(tracker, playlist(11, 3))
    assert second.fetch == [] and second.skews == []


def test_ads_are_not_fetched_and_do_not_make_a_worker_working() -> None:
    tracker = PlaylistTracker()
    first = update(tracker, playlist(10, 2, ads=(10, 11)))
    assert first.fetch == [] and len(first.ads) == 2
    assert not first.became_working and not tracker.working
    second = update(tracker, playlist(10, 3, ads=(10, 11)))
    assert [f.segment.sequence for f in second.fetch] == [12]
    assert len(second.ads) == 0
    assert second.became_working


def test_skew_makes_later_segments_suspect() -> None:
    tracker = PlaylistTracker()
    update(tracker, playlist(10, 3))
    result = update(tracker, playlist(10, 6, skew={13: 0.5, 14: 0.5, 15: 0.5}))
    assert [s.sequence for s in result.skews] == [13]
    assert [(f.segment.sequence, f.suspect) for f in result.fetch] == [
        (13, True),
        (14, True),
        (15, True),
    ]
    later = update(tracker, playlist(14, 3, skew={14: 0.5, 15: 0.5, 16: 0.5}))
    assert later.fetch[0].suspect and later.skews == []


def test_within_tolerance_is_no_skew() -> None:
    tracker = PlaylistTracker()
    result = update(tracker, playlist(10, 4, skew={12: 0.009, 13: 0.009}))
    assert result.skews == []
    assert not any(f.suspect for f in result.fetch)


def test_without_program_date_time_starts_chain_from_now() -> None:
    tracker = PlaylistTracker()
    now = T0 + timedelta(hours=1)
    first = update(tracker, playlist(0, 3, pdt=False), now)
    assert [f.start for f in first.fetch] == [now - timedelta(seconds=s) for s in (6, 4, 2)]
    second = update(tracker, playlist(1, 3, pdt=False), now + timedelta(seconds=5))
    assert [f.start for f in second.fetch] == [now]


def test_registry_claims_once() -> None:
    registry = SegmentRegistry()
    assert registry.claim(T0) and not registry.claim(T0)
    assert registry.note_ad(T0) and not registry.note_ad(T0)
    registry.forget_before(T0 + timedelta(seconds=1))
    assert registry.claim(T0)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("foo", ChannelSpec("foo")),
        ("foo!", ChannelSpec("foo", True)),
        ("foo:twitch:", ChannelSpec("foo")),
        ("bar!:url:https://h/x.m3u8?a=b", ChannelSpec("bar", True, "url", "https://h/x.m3u8?a=b")),
    ],
)
def test_parse_channel(text: str, spec: ChannelSpec) -> None:
    assert parse_channel(text) == spec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "!",
        ".hidden",
        "foo:ftp:x",
        "foo:url:",
        "a/b",
        "50%off",
        "a\\b",
        "tab\there",
        "coverage-maps",
        "emotes",
        "chat!",
        "CHAT:url:https://h/x.m3u8",
    ],
)
def test_parse_channel_refuses(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_channel(text)


def test_forward_gap_is_not_a_skew_but_going_back_is() -> None:
    tracker = PlaylistTracker()
    result = update(tracker, playlist(10, 6, skew={13: 30.0, 14: 30.0, 15: 29.5}))
    assert [s.sequence for s in result.skews] == [15]  # 13: 15 segments missing; 15: 0.5 s back
    assert tracker.gaps == 1
    assert [f.suspect for f in result.fetch] == [False, False, False, False, False, True]


def test_segments_another_worker_took_are_not_judged() -> None:
    tracker = PlaylistTracker()
    parsed = parse_twitch_media(playlist(10, 4, skew={11: 0.5}))
    taken = {s.start for s in parsed.segments[:3]}  # 10, 11 (late by 0.5 s), 12
    result = tracker.update(
        parse_twitch_media(playlist(10, 4, skew={11: 0.5})), T0, lambda start: start not in taken
    )
    assert result.skews == [] and not tracker.skewed
    assert [f.segment.sequence for f in result.fetch] == [10, 11, 12, 13]


def test_forward_jump_that_is_not_whole_segments_is_a_skew() -> None:
    tracker = PlaylistTracker()
    result = update(tracker, playlist(10, 4, skew={12: 5.0}))
    assert [s.sequence for s in result.skews] == [12, 13]  # 5 s forward, then 5 s back
    assert tracker.gaps == 0


def test_prefetched_segment_is_not_fetched_again_when_its_time_is_slightly_off() -> None:
    tracker = PlaylistTracker()
    update(tracker, playlist(10, 2, prefetch=1))
    # Segment 12 arrives for real, its program date time 3 ms later than the guess.
    result = update(tracker, playlist(10, 4, skew={12: 0.003, 13: 0.003}))
    assert [f.segment.sequence for f in result.fetch] == [13]


def test_bookkeeping_stays_small_over_a_long_stream() -> None:
    tracker = PlaylistTracker()
    registry = SegmentRegistry()
    for first in range(0, 20000, 5):
        result = update(tracker, playlist(first, 30))
        for fetch in result.fetch:
            registry.claim(fetch.start)
        assert result.oldest is not None
        registry.forget_before(result.oldest - timedelta(minutes=10))
    assert len(tracker._seen) < 1000
    assert len(registry) < 400


def test_segments_outside_the_plausible_window_are_rejected_with_one_line_each() -> None:
    tracker = PlaylistTracker()
    text = playlist(10, 3).replace(
        f"{T0 + timedelta(seconds=22):%Y-%m-%dT%H:%M:%S.%f}Z", "9999-01-01T00:00:00.000000Z"
    )
    window = (T0 - timedelta(hours=24), T0 + timedelta(minutes=15))
    result = tracker.update(parse_twitch_media(text), T0, window=window)
    assert [f.segment.sequence for f in result.fetch] == [10, 12]
    assert len(result.rejected) == 1 and "segment 11" in result.rejected[0]
    assert result.oldest == T0 + timedelta(seconds=20)


def test_the_registry_claims_by_uri_too_and_stays_bounded() -> None:
    registry = SegmentRegistry()
    assert registry.claim(T0, "http://cdn/1.ts?token=a")
    assert not registry.claim(T0 + timedelta(seconds=5), "http://cdn/1.ts?token=b")  # same URI
    for index in range(10_000):
        registry.note_range(f"range-{index}")
        registry.note_class(f"class-{index}")
    assert len(registry.classes) == 64
    assert registry.note_range("range-0")  # long forgotten: the table is bounded
