"""Control endpoint, request/connection counters, TLS and the ``streamvault sim`` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp

from streamvault.clock import FakeClock
from streamvault.sim import Simulator
from streamvault.sim.tls import client_context

from .client import CLIENT_ID, get_text, media_url, token_query
from .conftest import MakeSim


async def test_counters_prove_connection_reuse(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as pooled:
        url = await media_url(pooled, sim.base_url, "alpha", "source")
        for _ in range(5):
            assert (await get_text(pooled, url))[0] == 200
    counters = sim.counters
    assert counters["connections_opened"] == 1
    assert counters["requests"]["gql"] == 1
    assert counters["requests"]["usher"] == 1
    assert counters["requests"]["playlist"] == 5
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
        for _ in range(3):
            assert (await get_text(fresh, url))[0] == 200
        async with fresh.get(f"{sim.base_url}/control/counters") as response:
            remote = await response.json()
    assert remote["connections_opened"] == 1 + 4
    assert remote["requests"]["playlist"] == 8
    assert remote["responses"]["200"] >= 10


async def test_faults_over_http(sim: Simulator, session: aiohttp.ClientSession) -> None:
    base = f"{sim.base_url}/control/faults"
    faults = [
        {"kind": "segment_status", "channel": "alpha", "sequence": 2, "status": 500},
        {"kind": "endlist", "node": "b"},
    ]
    async with session.post(base, json=faults) as response:
        assert response.status == 200
        assert (await response.json())["active"] == 2
    async with session.post(base, json={"kind": "empty_body", "quality": "480p"}) as response:
        assert (await response.json())["active"] == 3
    async with session.get(base) as response:
        listed = await response.json()
    assert listed[0] == faults[0] and listed[1] == faults[1]
    url = await media_url(session, f"{sim.base_url}/node/b", "alpha", "source")
    assert (await get_text(session, url))[1].rstrip().endswith("#EXT-X-ENDLIST")
    async with session.post(base, json={"kind": "volcano"}) as response:
        assert response.status == 400
    async with session.post(base, data=b"[") as response:
        assert response.status == 400
    async with session.delete(base) as response:
        assert response.status == 200
    assert len(sim.faults) == 0
    assert not (await get_text(session, url))[1].rstrip().endswith("#EXT-X-ENDLIST")


async def test_tls_with_self_signed_certificate(make_sim: MakeSim) -> None:
    sim = await make_sim(tls=True)
    assert sim.base_url.startswith("https://127.0.0.1:")
    assert sim.ca_file is not None
    assert await asyncio.to_thread(Path(sim.ca_file).is_file)
    connector = aiohttp.TCPConnector(ssl=client_context(sim.ca_file))
    async with aiohttp.ClientSession(connector=connector) as secure:
        url = await media_url(secure, sim.base_url, "alpha", "source")
        assert url.startswith("https://")
        status, text = await get_text(secure, url)
        assert status == 200 and "#EXTINF" in text
    async with aiohttp.ClientSession() as untrusting:
        try:
            await untrusting.post(
                f"{sim.base_url}/gql", json=token_query("alpha"), headers={"Client-ID": CLIENT_ID}
            )
            raise AssertionError("an unknown self-signed certificate must not be trusted")
        except aiohttp.ClientConnectorError:
            pass


async def test_command_prints_flags_and_stops_on_sigterm(sim_cache: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "faults.toml"
    scenario.write_text('[[fault]]\nkind = "segment_status"\nsequence = 1\nstatus = 404\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamvault", "sim", "--port", "0", "--channels", "alpha,beta",
        "--qualities", "source,480p", "--time-scale", "20", "--scenario", str(scenario),
        "--cache-dir", str(sim_cache), "--master-style", "media,ivs",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    lines = [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(2)]
    base = lines[0].split()[-1]
    assert base.startswith("http://127.0.0.1:")
    assert f"--twitch-gql-url {base} --twitch-usher-url {base}" in lines[1]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/control/faults") as response:
            assert [f["kind"] for f in await response.json()] == ["segment_status"]
        async with session.get(f"{base}/control/counters") as response:
            assert json.loads(await response.text())["requests"]["control"] == 2
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_the_sim_follows_the_clock_it_is_given(
    make_sim: MakeSim, session: aiohttp.ClientSession
) -> None:
    clock = FakeClock()
    sim = await make_sim(clock=clock)
    assert sim.clock is clock
    before = sim.published("alpha", "source")
    assert [p.sequence for p in before] == list(range(6))
    assert before[-1].program_date_time == clock.now() - timedelta(seconds=2)
    await clock.advance(5.0, step=0.5)
    after = sim.published("alpha", "source")
    assert [p.sequence for p in after] == list(range(8))
    url = await media_url(session, sim.base_url, "alpha", "source")
    assert "#EXT-X-MEDIA-SEQUENCE:0" in (await get_text(session, url))[1]
