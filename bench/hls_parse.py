"""Benchmark: our playlist parser against the ``m3u8`` package, on Twitch's real playlists.

The peer is ``m3u8.loads`` (the package most Python HLS tools use), given the same text and
base URI, in the same run. Three workloads:

- a live poll sequence: the real live media playlist (``media-live-prefetch.m3u8``) advanced
  one segment per poll as Twitch's is every 2 s (the same DATERANGEs, the window of 15
  segments and 2 prefetch lines sliding on), 900 polls (30 minutes of one worker), our caches
  cleared before each run: the per-poll cost that matters, since each worker polls every 2 s;
- each real file parsed as it is, again and again (the cache warm: an unchanged poll);
- the same with our caches cleared before every parse (the cold, first-poll cost).

Prints what each reads of the prefetch segments, an SCTE-35 break and ``IVS-NAME``, then CPU
milliseconds per parse (the least of seven runs, ours and the peer's taken in turns) and the
ratio m3u8 / ours (above 1: ours is faster). Both parsers are first checked to read the same
segments and times, so they do the same work.

    .venv/bin/python bench/hls_parse.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import m3u8  # type: ignore[import-untyped]

from streamvault.hls import parse
from streamvault.hls.parse import parse_master
from streamvault.sources.twitch_hls import parse_twitch_media

TESTDATA = Path(__file__).parents[1] / "tests" / "resources" / "twitch"
BASE = "https://video-weaver.example.test/v1/playlist/abc.m3u8"
POLLS = 900
REPEAT = 7


def clear_caches() -> None:
    parse.parse_date.cache_clear()
    parse._date_range.cache_clear()


def live_polls(text: str, count: int) -> list[str]:
    """``count`` successive polls of a live playlist that advances one segment per poll."""
    lines = text.splitlines()
    head = [line for line in lines if line.startswith(("#EXTM3U", "#EXT-X-VERSION", "#EXT-X-T"))]
    head = [line for line in head if not line.startswith("#EXT-X-TWITCH-PREFETCH")]
    ranges = [line for line in lines if line.startswith("#EXT-X-DATERANGE")]
    first = next(line for line in lines if line.startswith("#EXT-X-PROGRAM-DATE-TIME"))
    start = parse.parse_date(first.partition(":")[2])
    window = sum(1 for line in lines if line.startswith("#EXTINF"))
    polls = []
    for poll in range(count):
        body = [*head, f"#EXT-X-MEDIA-SEQUENCE:{4815 + poll}", *ranges]
        for index in range(poll, poll + window):
            when = start + timedelta(seconds=2 * index)
            body += [
                f"#EXT-X-PROGRAM-DATE-TIME:{when:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z",
                "#EXTINF:2.000,live",
                f"https://video-edge-foo.bar.abs.hls.ttvnw.net/v1/segment/s{index}.ts",
            ]
        body += [
            f"#EXT-X-TWITCH-PREFETCH:https://video-edge-foo.bar.abs.hls.ttvnw.net/v1/segment/"
            f"s{poll + window + extra}.ts"
            for extra in range(2)
        ]
        polls.append("\n".join(body) + "\n")
    return polls


def compare(ours: Callable[[], object], theirs: Callable[[], object]) -> tuple[float, float]:
    """CPU seconds of one run of each, the least of ``REPEAT`` runs taken in turns: on a
    shared, loaded machine CPU time and interleaving keep other processes out of the ratio."""
    best = [float("inf"), float("inf")]
    for _ in range(REPEAT):
        for index, fn in enumerate((ours, theirs)):
            began = time.process_time()
            fn()
            best[index] = min(best[index], time.process_time() - began)
    return best[0], best[1]


def check_same_work(text: str) -> None:
    ours = parse_twitch_media(text, BASE)
    theirs = m3u8.loads(text, uri=BASE)
    regular = [s for s in ours.segments if not s.prefetch]
    assert [s.absolute_uri for s in theirs.segments] == [s.uri for s in regular]
    assert [s.program_date_time for s in theirs.segments] == [s.start for s in regular]
    assert theirs.media_sequence == ours.media_sequence


SCTE35_BREAK = """#EXTM3U
#EXT-X-TARGETDURATION:2
#EXTINF:2,
a.ts
#EXT-X-SCTE35-OUT:URL="x"
#EXTINF:2,
b.ts
#EXT-X-SCTE35-IN
#EXTINF:2,
c.ts
"""


def what_each_reads(media: str, master: str) -> None:
    """The docstring's other claims about m3u8, shown on the same playlists."""
    ours, theirs = parse_twitch_media(media, BASE), m3u8.loads(media, uri=BASE)
    print(f"segments (15 + 2 prefetch):  ours {len(ours.segments)}   m3u8 {len(theirs.segments)}")
    ours_break = [s.in_scte35_break for s in parse_twitch_media(SCTE35_BREAK).segments]
    theirs_break = [s.cue_out for s in m3u8.loads(SCTE35_BREAK).segments]
    print(f"SCTE35-OUT/IN break (a b c): ours {ours_break}   m3u8 {theirs_break}")
    name = parse_master(master, BASE).variants[0].attributes.get("IVS-NAME")
    info = m3u8.loads(master, uri=BASE).playlists[0].stream_info
    found = hasattr(info, "ivs_name")
    print(f"IVS-NAME of usher's first:   ours {name!r}   m3u8 on StreamInfo: {found}")


def row(name: str, count: int, ours: float, theirs: float) -> None:
    print(
        f"{name:<36} ours {ours / count * 1000:7.3f} ms   m3u8 {theirs / count * 1000:7.3f} ms"
        f"   m3u8/ours {theirs / ours:5.1f}x"
    )


def main() -> None:
    media = (TESTDATA / "media-live-prefetch.m3u8").read_text()
    polls = live_polls(media, POLLS)
    for text in (media, polls[0], polls[-1]):
        check_same_work(text)
    what_each_reads(media, (TESTDATA / "master-usher-v2-live.m3u8").read_text())

    def ours_live() -> None:
        clear_caches()
        for text in polls:
            parse_twitch_media(text, BASE)

    def theirs_live() -> None:
        for text in polls:
            m3u8.loads(text, uri=BASE)

    row(f"live poll sequence ({POLLS} polls)", POLLS, *compare(ours_live, theirs_live))

    repeat = 300
    for name in sorted(path.name for path in TESTDATA.glob("*.m3u8")):
        text = (TESTDATA / name).read_text()
        is_master = parse.is_master(text)

        def ours(cold: bool, text: str = text, is_master: bool = is_master) -> None:
            for _ in range(repeat):
                if cold:
                    clear_caches()
                if is_master:
                    parse_master(text, BASE)
                else:
                    parse_twitch_media(text, BASE)

        def theirs(text: str = text) -> None:
            for _ in range(repeat):
                m3u8.loads(text, uri=BASE)

        row(f"{name}, as is", repeat, *compare(lambda: ours(False), theirs))
        if not is_master:
            row(f"{name}, caches cleared", repeat, *compare(lambda: ours(True), theirs))


if __name__ == "__main__":
    main()
