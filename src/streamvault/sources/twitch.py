"""Twitch: access token over GQL and the usher master playlist (SPEC §6.1, §6.2).

The base URLs are settable so the simulator can stand in for Twitch; each may carry a path
prefix (``http://127.0.0.1:8080/node/b``) to which ``/gql`` and the usher path are added. The
usher path is ``/api/v2/channel/hls/CHANNEL.m3u8`` (v2, where streamlink moved in March 2026)
unless ``v1`` selects the older ``/api/channel/hls/CHANNEL.m3u8``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from ..clock import Clock
from ..errors import BadPlaylist, HTTPStatusError, RemoteError, StreamOffline
from ..hls.parse import parse_master
from .http import MAX_TEXT_BYTES, fetch_text
from .variants import choose_variant

CLIENT_ID = "kimne78kx3ncx6brgo4mv6wki5h1ko"
PERSISTED_QUERY_HASH = "ed230aa1e33e07eebb8928504583da78a5173989fadfb1ac94be06a04f3cdbe9"
GQL_URL = "https://gql.twitch.tv"
USHER_URL = "https://usher.ttvnw.net"
USHER_PATHS = {"v1": "/api/channel/hls", "v2": "/api/v2/channel/hls"}
USHER_PATH = "v2"


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    signature: str


def gql_body(channel: str) -> dict[str, Any]:
    return {
        "operationName": "PlaybackAccessToken",
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": PERSISTED_QUERY_HASH}},
        "variables": {
            "isLive": True,
            "login": channel,
            "isVod": False,
            "vodID": "",
            "playerType": "embed",
            "platform": "site",
        },
    }


def gql_headers(auth_token: str | None = None) -> dict[str, str]:
    headers = {"Client-ID": CLIENT_ID, "Content-Type": "application/json"}
    if auth_token:
        headers["Authorization"] = f"OAuth {auth_token}"
    return headers


def parse_token(text: str) -> AccessToken | None:
    """The token in a GQL answer; None when Twitch has none (no such channel)."""
    try:
        answer = json.loads(text)
        token = answer["data"]["streamPlaybackAccessToken"]
    except (ValueError, KeyError, TypeError) as err:
        raise RemoteError(f"unexpected GQL answer: {text[:200]!r}") from err
    if token is None:
        return None
    try:
        return AccessToken(str(token["value"]), str(token["signature"]))
    except (KeyError, TypeError) as err:
        raise RemoteError(f"GQL token without value/signature: {text[:200]!r}") from err


def usher_url(
    base: str, channel: str, token: AccessToken, nonce: int | None = None, path: str = USHER_PATH
) -> str:
    params = {
        "sig": token.signature,
        "token": token.value,
        "allow_source": "true",
        "allow_audio_only": "true",
        "p": str(nonce if nonce is not None else random.randrange(1_000_000, 10_000_000)),
        "player": "twitchweb",
        "type": "any",
        "fast_bread": "true",
        "supported_codecs": "av1,h265,h264",
    }
    prefix = USHER_PATHS[path]
    return f"{base.rstrip('/')}{prefix}/{quote(channel)}.m3u8?{urlencode(params)}"


@dataclass(frozen=True, slots=True)
class TwitchSource:
    """Media playlist URLs for a Twitch channel, one per quality."""

    channel: str
    gql_url: str = GQL_URL
    usher_url: str = USHER_URL
    auth_token: str | None = None
    timeout: float = 20.0
    usher_path: str = USHER_PATH
    max_bytes: int = MAX_TEXT_BYTES

    async def media_playlists(
        self, session: aiohttp.ClientSession, clock: Clock, qualities: list[str]
    ) -> dict[str, str | None]:
        """Raises ``StreamOffline`` when the channel is not live."""
        text = await fetch_text(
            session,
            clock,
            f"{self.gql_url.rstrip('/')}/gql",
            "gql",
            self.timeout,
            method="POST",
            data=json.dumps(gql_body(self.channel)),
            headers=gql_headers(self.auth_token),
            max_bytes=self.max_bytes,
        )
        token = parse_token(text)
        if token is None:
            raise StreamOffline(f"no access token for {self.channel}")
        url = usher_url(self.usher_url, self.channel, token, path=self.usher_path)
        try:
            master_text = await fetch_text(
                session, clock, url, "usher", self.timeout, max_bytes=self.max_bytes
            )
        except HTTPStatusError as err:
            if err.status == 404:
                raise StreamOffline(f"{self.channel} is offline") from err
            raise
        try:
            master = parse_master(master_text, url)
        except BadPlaylist as err:
            raise RemoteError(f"bad master playlist for {self.channel}: {err}") from err
        urls: dict[str, str | None] = {}
        for quality in qualities:
            variant = choose_variant(master, quality)
            urls[quality] = variant.uri if variant else None
        return urls
