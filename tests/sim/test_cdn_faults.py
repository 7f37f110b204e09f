"""CDN playlists and segments under every fault, observed by a plain HTTP client."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import aiohttp
import pytest

from streamvault.sim import Fault, Simulator
from streamvault.sim.playlists import format_pdt

from .client import get_text, master, media_url, segment_urls, variant_urls
from .conftest import MakeSim


async def live_playlist(
    session: aiohttp.ClientSession, sim: Simulator, quality: str = "source", base: str = ""
) -> str:
    url = await media_url(session, base or sim.base_url, "alpha", quality)
    status, text = await get_text(session, url)
    assert status == 200, text
    return text


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with session.get(url) as response:
        return response.status, await response.read()


async def test_segments_match_published_hashes(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    urls = segment_urls(await live_playlist(session, sim))
    published = {p.sequence: p for p in sim.published("alpha", "source")}
    assert set(urls) <= set(published)
    for sequence in list(urls)[:3]:
        status, body = await fetch(session, urls[sequence])
        assert status == 200
        assert body == sim.segment_bytes("alpha", "source", sequence)
        assert not published[sequence].is_ad


@pytest.mark.parametrize("status", [403, 404, 500])
async def test_segment_status(sim: Simulator, session: aiohttp.ClientSession, status: int) -> None:
    sim.add_fault(Fault("segment_status", channel="alpha", quality="source", sequence=3,
                        status=status))  # fmt: skip
    urls = segment_urls(await live_playlist(session, sim))
    assert (await fetch(session, urls[3]))[0] == status
    assert (await fetch(session, urls[4]))[0] == 200
    other = segment_urls(await live_playlist(session, sim, "480p"))
    assert (await fetch(session, other[3]))[0] == 200


async def test_empty_body(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("empty_body", from_sequence=2, to_sequence=3))
    urls = segment_urls(await live_playlist(session, sim))
    assert await fetch(session, urls[2]) == (200, b"")
    assert await fetch(session, urls[3]) == (200, b"")
    assert len((await fetch(session, urls[4]))[1]) > 0


async def test_stall_then_truncate(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("stall_then_truncate", sequence=4, stall_seconds=20.0))
    urls = segment_urls(await live_playlist(session, sim))
    started = sim.clock.monotonic()
    status, body = await fetch(session, urls[4])  # completes without a transport error
    assert sim.clock.monotonic() - started >= 20.0
    full = sim.segment_bytes("alpha", "source", 4)
    assert status == 200
    assert 0 < len(body) < len(full) and full.startswith(body)


async def test_truncate_is_clean_short_and_at_once_for_one_node(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(Fault("truncate", sequence=4, truncate_fraction=0.3, node="c"))
    full = sim.segment_bytes("alpha", "source", 4)
    for node, whole in (("c", False), ("a", True), (None, True)):
        base = sim.node_url(node) if node else sim.base_url
        urls = segment_urls(await live_playlist(session, sim, base=base))
        started = sim.clock.monotonic()
        async with session.get(urls[4]) as response:
            body = await response.read()  # no transport error: a clean end
            length = response.content_length
        assert sim.clock.monotonic() - started < 5.0  # no stall
        assert response.status == 200 and length == len(body)
        if whole:
            assert body == full
        else:
            assert 0 < len(body) < len(full) and full.startswith(body)
            assert len(body) % 188 == 0
    assert sim.counters["faults_applied"]["truncate"] == 1


async def test_reset_mid_body(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("reset_mid_body", sequence=4))
    urls = segment_urls(await live_playlist(session, sim))

    async def read_segment() -> None:
        async with session.get(urls[4]) as response:
            assert response.status == 200
            await response.read()

    with pytest.raises(aiohttp.ClientError):  # at the head or in the body: the reset may come first
        await read_segment()
    assert (await fetch(session, urls[5]))[0] == 200


@pytest.mark.parametrize("marking", ["daterange", "amazon", "scte35"])
async def test_ad_break(sim: Simulator, session: aiohttp.ClientSession, marking: str) -> None:
    sim.add_fault(Fault("ad_break", channel="alpha", marking=marking,
                        from_sequence=2, to_sequence=3))  # fmt: skip
    text = await live_playlist(session, sim)
    lines = text.splitlines()
    if marking == "daterange":
        tags = [line for line in lines if 'CLASS="twitch-stitched-ad"' in line]
        start = sim.published("alpha", "source")[2].program_date_time
        assert len(tags) == 1 and f'START-DATE="{format_pdt(start)}"' in tags[0]
        assert "DURATION=4.000" in tags[0]
    elif marking == "amazon":
        assert sum(line.startswith("#EXTINF:2.000,Amazon|") for line in lines) == 2
    else:
        out = next(i for i, line in enumerate(lines) if line.startswith("#EXT-X-SCTE35-OUT"))
        back = lines.index("#EXT-X-SCTE35-IN")
        inside = [
            int(m.group(1)) for line in lines[out:back] if (m := re.search(r"/(\d+)\.ts", line))
        ]
        assert inside == [2, 3]
    assert lines.count("#EXT-X-DISCONTINUITY") == 2
    ads = [p.sequence for p in sim.published("alpha", "source") if p.is_ad]
    assert ads == [2, 3]


async def test_short_last_ad_segment(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("ad_break", marking="amazon", from_sequence=2, to_sequence=3,
                        last_ad_duration=0.168))  # fmt: skip
    lines = (await live_playlist(session, sim)).splitlines()
    assert lines.count("#EXTINF:2.000,Amazon|alpha-2") == 1
    assert lines.count("#EXTINF:0.168,Amazon|alpha-2") == 1
    published = {p.sequence: p for p in sim.published("alpha", "source")}
    assert published[3].duration == 0.168 and published[3].is_ad
    assert published[4].duration == 2.0 and not published[4].is_ad
    sim.clear_faults()
    sim.add_fault(Fault("ad_break", from_sequence=2, to_sequence=3, last_ad_duration=0.5))
    text = await live_playlist(session, sim)
    assert "DURATION=2.500" in text


async def test_skew(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("skew", sequence=3, skew_seconds=1.5))
    published = {p.sequence: p for p in sim.published("alpha", "source")}
    assert published[3].program_date_time - published[2].program_date_time == timedelta(seconds=3.5)
    text = await live_playlist(session, sim)
    assert f"#EXT-X-PROGRAM-DATE-TIME:{format_pdt(published[3].program_date_time)}" in text
    assert f"#EXT-X-PROGRAM-DATE-TIME:{format_pdt(published[4].program_date_time)}" in text


async def test_prefetch(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("prefetch", channel="alpha"))
    text = await live_playlist(session, sim)
    lines = text.splitlines()
    prefetch = [
        line.split(":", 1)[1] for line in lines if line.startswith("#EXT-X-TWITCH-PREFETCH:")
    ]
    assert len(prefetch) == 2 and lines[-2:] == [f"#EXT-X-TWITCH-PREFETCH:{u}" for u in prefetch]
    last = max(segment_urls(text))
    upcoming = int(re.search(r"/(\d+)\.ts", prefetch[0]).group(1))  # type: ignore[union-attr]
    assert upcoming == last + 1
    status, body = await fetch(session, prefetch[0])  # served once the segment is complete
    assert status == 200
    published = {p.sequence: p for p in sim.published("alpha", "source")}
    assert upcoming in published
    assert body == sim.segment_bytes("alpha", "source", upcoming)


async def test_endlist_and_playlist_status(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("endlist", channel="alpha", quality="source"))
    assert (await live_playlist(session, sim)).rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-ENDLIST" not in await live_playlist(session, sim, "480p")
    sim.clear_faults()
    sim.add_fault(Fault("playlist_status", quality="480p", status=404))
    url = await media_url(session, sim.base_url, "alpha", "480p")
    assert (await get_text(session, url))[0] == 404
    sim.clear_faults()
    sim.add_fault(Fault("playlist_status", status=403))
    assert (await get_text(session, url))[0] == 403


async def test_playlist_and_segment_urls_expire(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(playlist_url_max_age=30.0, segment_url_max_age=10.0)
    url = await media_url(session, sim.base_url, "alpha", "source")
    status, text = await get_text(session, url)
    assert status == 200
    segment = segment_urls(text)[5]
    await sim.clock.sleep(11.0)
    assert (await fetch(session, segment))[0] == 403
    assert (await get_text(session, url))[0] == 200
    await sim.clock.sleep(20.0)
    assert (await get_text(session, url))[0] == 403
    fresh = await media_url(session, sim.base_url, "alpha", "source")
    assert (await get_text(session, fresh))[0] == 200


async def test_bad_signature_and_unknown_segments(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = await media_url(session, sim.base_url, "alpha", "source")
    assert (await get_text(session, url.replace("sig=", "sig=0")))[0] == 403
    assert (await get_text(session, url.replace("/source/", "/480p/")))[0] == 403
    assert (await get_text(session, f"{sim.base_url}/cdn/alpha/source/3.ts"))[0] == 403
    status, text = await master(session, sim.base_url, "alpha")
    assert status == 200 and variant_urls(text)
    path, expires, sig = "/cdn/alpha/source/900.ts", 2**40, ""
    sig = sim.signer.sign_path(path, expires)
    status, _ = await fetch(session, f"{sim.base_url}{path}?exp={expires}&sig={sig}")
    assert status == 404, "a segment far in the future does not exist yet"


async def test_a_client_leaving_during_a_stall_is_counted(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(Fault("stall_then_truncate", sequence=4, stall_seconds=20.0))
    urls = segment_urls(await live_playlist(session, sim))
    async with session.get(urls[4]) as response:
        assert response.status == 200
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(response.read(), 0.05)
        response.close()  # the client gives up and drops the connection
    await sim.clock.sleep(21.0)
    assert sim.counters["responses"].get("499") == 1
    assert (await fetch(session, urls[5]))[0] == 200


def hls_numbers(text: str) -> dict[int, int]:
    """Time sequence (from the URI) -> the number an HLS client gives the segment by position."""
    media_sequence = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))  # type: ignore[union-attr]
    return {seq: media_sequence + i for i, seq in enumerate(segment_urls(text))}


async def test_hls_numbering_stays_consistent_across_an_offline_gap(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(window=4)  # a short window, so the gap scrolls out of it quickly
    d = sim.config.segment_duration
    url = await media_url(session, sim.base_url, "alpha", "source")
    sim.set_online("alpha", False)
    await sim.clock.sleep(3 * d)
    sim.set_online("alpha", True)
    await sim.clock.sleep(2.5 * d)
    _, first = await get_text(session, url)  # ... k-1, k, <gap>, n1, n2
    await sim.clock.sleep(2 * d)
    _, second = await get_text(session, url)  # n1, n2, n3, n4: the gap has scrolled out
    assert "#EXT-X-DISCONTINUITY" in first  # the gap is marked
    numbers_first, numbers_second = hls_numbers(first), hls_numbers(second)
    # A player that numbers by position (streamlink, ffmpeg) must see each segment under the
    # same number on every reload, or it skips or repeats segments.
    common = set(numbers_first) & set(numbers_second)
    assert common
    assert {s: numbers_first[s] for s in common} == {s: numbers_second[s] for s in common}
