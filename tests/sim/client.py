"""A plain Twitch client for the simulator tests: token, master, media playlist, segments."""

from __future__ import annotations

import re

import aiohttp

CLIENT_ID = "kimne78kx3ncx6brgo4mv6wki5h1ko"
HASH = "ed230aa1e33e07eebb8928504583da78a5173989fadfb1ac94be06a04f3cdbe9"


def token_query(login: str, sha: str = HASH) -> dict[str, object]:
    return {
        "operationName": "PlaybackAccessToken",
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
        "variables": {"isLive": True, "login": login, "isVod": False, "vodID": "",
                      "playerType": "embed", "platform": "site"},
    }  # fmt: skip


async def token(session: aiohttp.ClientSession, base: str, channel: str) -> tuple[str, str]:
    async with session.post(
        f"{base}/gql", json=token_query(channel), headers={"Client-ID": CLIENT_ID}
    ) as response:
        assert response.status == 200
        answer = (await response.json())["data"]["streamPlaybackAccessToken"]
    return answer["value"], answer["signature"]


async def master(session: aiohttp.ClientSession, base: str, channel: str) -> tuple[int, str]:
    value, sig = await token(session, base, channel)
    params = {"token": value, "sig": sig, "allow_source": "true", "allow_audio_only": "true",
              "p": "4242", "player": "twitchweb", "type": "any"}  # fmt: skip
    async with session.get(f"{base}/api/channel/hls/{channel}.m3u8", params=params) as response:
        return response.status, await response.text()


def variant_urls(text: str) -> dict[str, str]:
    """CDN quality name (from the URI path) -> media playlist URL."""
    urls = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {re.search(r"/cdn/[^/]+/([^/]+)/index", url).group(1): url for url in urls}  # type: ignore[union-attr]


async def media_url(session: aiohttp.ClientSession, base: str, channel: str, quality: str) -> str:
    status, text = await master(session, base, channel)
    assert status == 200, text
    return variant_urls(text)[quality]


async def get_text(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


def segment_urls(text: str) -> dict[int, str]:
    """Sequence -> segment URL, for the segments (not prefetch lines) of a media playlist."""
    urls = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {int(re.search(r"/(\d+)\.ts", url).group(1)): url for url in urls}  # type: ignore[union-attr]
