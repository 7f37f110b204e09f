"""GraphQL token and usher master playlists, observed by a plain HTTP client."""

from __future__ import annotations

import json

import aiohttp

from streamvault.sim import Fault, Simulator

from .client import CLIENT_ID, get_text, master, media_url, token, token_query, variant_urls
from .conftest import MakeSim


async def test_token_names_the_channel_and_expires(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    value, signature = await token(session, sim.base_url, "alpha")
    payload = json.loads(value)
    assert payload["channel"] == "alpha"
    assert payload["expires"] > sim.clock.now().timestamp()
    assert len(signature) == 40 and int(signature, 16) >= 0


async def test_gql_refuses_a_changed_client(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = f"{sim.base_url}/gql"
    async with session.post(url, json=token_query("alpha")) as response:
        assert response.status == 401
    headers = {"Client-ID": CLIENT_ID}
    async with session.post(url, json=token_query("alpha", sha="0" * 64), headers=headers) as r:
        assert r.status == 400
    query = token_query("alpha") | {"operationName": "StreamMetadata"}
    async with session.post(url, json=query, headers=headers) as response:
        assert response.status == 400
    async with session.post(url, data=b"{not json", headers=headers) as response:
        assert response.status == 400
    async with session.post(url, json=token_query("nobody"), headers=headers) as response:
        assert (await response.json())["data"]["streamPlaybackAccessToken"] is None


async def test_usher_media_style_master(sim: Simulator, session: aiohttp.ClientSession) -> None:
    status, text = await master(session, sim.base_url, "alpha")
    assert status == 200
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert any('GROUP-ID="chunked",NAME="1080p60 (source)"' in line for line in lines)
    assert any('GROUP-ID="480p30",NAME="480p"' in line for line in lines)
    assert set(variant_urls(text)) == {"source", "480p"}
    status, media = await get_text(session, variant_urls(text)["480p"])
    assert status == 200 and "#EXTINF:2.000,live" in media


async def test_usher_ivs_style_master_on_v2_path(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    value, sig = await token(session, sim.base_url, "beta")
    url = f"{sim.base_url}/api/v2/channel/hls/beta.m3u8"
    async with session.get(url, params={"token": value, "sig": sig}) as response:
        assert response.status == 200
        text = await response.text()
    assert "#EXT-X-MEDIA" not in text
    assert 'IVS-NAME="1080p60",IVS-GROUPS="landscape",IVS-VARIANT-SOURCE="source"' in text
    assert 'STABLE-VARIANT-ID="480p30-portrait",IVS-NAME="480p",IVS-GROUPS="portrait"' in text
    assert set(variant_urls(text)) == {"source", "480p", "480p-portrait"}


async def test_usher_refuses_bad_and_expired_tokens(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(token_max_age=60.0, time_scale=40.0)  # valid for 1.5 s of real time
    value, sig = await token(session, sim.base_url, "alpha")
    url = f"{sim.base_url}/api/channel/hls/alpha.m3u8"
    async with session.get(url, params={"token": value, "sig": "f" * 40}) as response:
        assert response.status == 403
    async with session.get(url, params={"token": value, "sig": sig}) as response:
        assert response.status == 200
    beta_value, beta_sig = await token(session, sim.base_url, "beta")
    async with session.get(url, params={"token": beta_value, "sig": beta_sig}) as response:
        assert response.status == 403  # a token for another channel
    await sim.clock.sleep(61.0)
    async with session.get(url, params={"token": value, "sig": sig}) as response:
        assert response.status == 403


async def test_offline_and_online(sim: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{sim.base_url}/control/channels/alpha/offline") as response:
        assert response.status == 200
    before = len(sim.published("alpha", "source"))
    async with session.get(f"{sim.base_url}/control/channels") as response:
        state = {c["name"]: c for c in (await response.json())["channels"]}
    assert not state["alpha"]["online"] and not state["alpha"]["live"]
    assert state["beta"]["live"] and state["alpha"]["published"] == before
    status, _ = await master(session, sim.base_url, "alpha")
    assert status == 404
    assert (await master(session, sim.base_url, "beta"))[0] == 200
    await sim.clock.sleep(6.0)
    assert len(sim.published("alpha", "source")) == before, "nothing is published while offline"
    async with session.post(f"{sim.base_url}/control/channels/alpha/online") as response:
        assert response.status == 200
    status, _ = await master(session, sim.base_url, "alpha")
    assert status == 200
    await sim.clock.sleep(4.5)
    sequences = [p.sequence for p in sim.published("alpha", "source")]
    assert len(sequences) > before
    assert sequences[before] - sequences[before - 1] >= 3, "the offline time is a gap"
    url = await media_url(session, sim.base_url, "alpha", "source")
    status, media = await get_text(session, url)
    assert status == 200 and "#EXT-X-DISCONTINUITY" in media
    async with session.post(f"{sim.base_url}/control/channels/nobody/offline") as response:
        assert response.status == 404


async def test_offline_fault_and_unknown_channel(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(Fault("offline", channel="alpha"))
    assert (await master(session, sim.base_url, "alpha"))[0] == 404
    assert (await master(session, sim.base_url, "beta"))[0] == 200
    value, sig = await token(session, sim.base_url, "alpha")
    url = f"{sim.base_url}/api/channel/hls/nobody.m3u8"
    async with session.get(url, params={"token": value, "sig": sig}) as response:
        assert response.status == 404


async def test_missing_quality(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("missing_quality", channel="alpha", quality="480p"))
    status, text = await master(session, sim.base_url, "alpha")
    assert status == 200
    assert set(variant_urls(text)) == {"source"}
    assert 'NAME="480p"' not in text
    assert set(variant_urls((await master(session, sim.base_url, "beta"))[1])) >= {"480p"}


async def test_faults_per_node(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(Fault("offline", channel="alpha", node="b"))
    node_a, node_b = sim.node_url("a"), sim.node_url("b")
    assert (await master(session, node_b, "alpha"))[0] == 404
    assert (await master(session, sim.base_url, "alpha"))[0] == 200
    status, text = await master(session, node_a, "alpha")
    assert status == 200
    url = variant_urls(text)["source"]
    assert url.startswith(f"{node_a}/cdn/alpha/source/index.m3u8?")
    status, media = await get_text(session, url)
    assert status == 200
    assert all(
        line.startswith(f"{node_a}/cdn/") for line in media.splitlines() if line.startswith("http")
    )
    assert sim.counters["requests_by_node"]["b"] >= 2
    sim.remove_fault(Fault("offline", channel="alpha", node="b"))
    assert (await master(session, node_b, "alpha"))[0] == 200
