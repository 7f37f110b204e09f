"""A client for one peer restreamer over the wubloader-compatible paths (SPEC §5).

- ``GET /files/CHANNEL/QUALITY``: hour names;
- ``GET /files/CHANNEL/QUALITY/HOUR?tombstones=true``: segment and tombstone names;
- ``GET /segments/CHANNEL/QUALITY/HOUR/FILE``: one segment's (or chat batch's) bytes;
- ``GET /extras/DIR`` and ``GET /segments/DIR/PATH``: the files of an extra directory
  (a peer without the route answers 404: it has none);
- ``GET /changes/CHANNEL/QUALITY?cursor=N&timeout=S``: the change feed, where the peer offers
  it (a streamvault restreamer); a wubloader peer answers 404 and is polled instead.

Everything a peer sends is checked; anything unusable raises a
:class:`~streamvault.errors.RemoteError`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from ..errors import HTTPStatusError, RemoteError
from ..store.chat_naming import ChatBatch
from ..store.disk import TempFile
from ..store.naming import Segment
from .peers import Peer

#: Segment bodies may be large and the peer busy, but a stalled body is abandoned.
SEGMENT_TIMEOUT = aiohttp.ClientTimeout(total=300, sock_connect=5, sock_read=30)
CHUNK = 256 * 1024


class BadAnswer(RemoteError):
    """A peer answered 200 with something that is not what the route promises."""


@dataclass(frozen=True, slots=True)
class Change:
    hour: str
    name: str


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """One answer of ``/changes``: the changes after the cursor asked for, and the next cursor.

    ``reset`` means the peer cannot tell what changed since that cursor (it restarted, or the
    cursor is too old); the caller should check the recent hours in full.
    """

    cursor: int
    instance: str
    reset: bool
    changes: tuple[Change, ...]


def _path(*parts: str) -> str:
    return "/".join(quote(part, safe=":") for part in parts)


def _string_list(data: Any, url: str) -> list[str]:
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise BadAnswer(f"expected a JSON list of strings from {url}")
    return data


def parse_feed_answer(data: Any, url: str = "") -> FeedAnswer:
    """Check and convert a ``/changes`` JSON body."""
    try:
        cursor = data["cursor"]
        instance = data["instance"]
        reset = data.get("reset", False)
        changes = tuple(Change(item["hour"], item["name"]) for item in data["changes"])
    except (KeyError, TypeError, AttributeError) as err:
        raise BadAnswer(f"not a change feed answer from {url}: {err}") from err
    if (
        not isinstance(cursor, int)
        or not isinstance(instance, str)
        or not isinstance(reset, bool)
        or not all(isinstance(c.hour, str) and isinstance(c.name, str) for c in changes)
    ):
        raise BadAnswer(f"not a change feed answer from {url}")
    return FeedAnswer(cursor, instance, reset, changes)


class PeerClient:
    """Requests to one peer through a shared session."""

    def __init__(
        self, session: aiohttp.ClientSession, peer: Peer, listing_timeout: float = 20.0
    ) -> None:
        self.session = session
        self.peer = peer
        self.listing_timeout = aiohttp.ClientTimeout(total=listing_timeout, sock_connect=5)

    def url(self, path: str) -> URL:
        return URL(f"{self.peer.url}/{path}", encoded=True)

    async def _get_json(
        self,
        path: str,
        params: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Any | None:
        """The JSON body, or ``None`` for a 404."""
        url = self.url(path)
        timeout = timeout or self.listing_timeout
        try:
            async with self.session.get(url, params=params, timeout=timeout) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise HTTPStatusError(response.status, str(url))
                body = await response.read()
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RemoteError(f"{url}: {type(err).__name__}: {err}") from err
        try:
            return json.loads(body)
        except ValueError as err:
            raise BadAnswer(f"not JSON from {url}") from err

    async def list_hours(self, channel: str, quality: str) -> list[str]:
        """Hour names the peer has for a channel and quality (``[]`` when it has none)."""
        data = await self._get_json(_path("files", channel, quality))
        return [] if data is None else _string_list(data, self.peer.url)

    async def list_hour(self, channel: str, quality: str, hour: str) -> list[str]:
        """Segment and tombstone names in one hour (``[]`` when the peer has no such hour)."""
        data = await self._get_json(
            _path("files", channel, quality, hour), params={"tombstones": "true"}
        )
        return [] if data is None else _string_list(data, self.peer.url)

    async def changes(
        self, channel: str, quality: str, cursor: int | None, timeout: float
    ) -> FeedAnswer | None:
        """Long-poll the change feed; ``None`` when the peer does not offer one (404)."""
        params = {"timeout": f"{timeout:g}"}
        if cursor is not None:
            params["cursor"] = str(cursor)
        client_timeout = aiohttp.ClientTimeout(total=timeout + 15, sock_connect=5)
        data = await self._get_json(_path("changes", channel, quality), params, client_timeout)
        return None if data is None else parse_feed_answer(data, self.peer.url)

    async def list_extras(self, directory: str) -> list[str]:
        """Relative paths of every file in an extra directory (``[]`` when it has none)."""
        data = await self._get_json(_path("extras", directory))
        return [] if data is None else _string_list(data, self.peer.url)

    async def fetch_extra_into(self, directory: str, path: str, temp: TempFile) -> None:
        """Stream an extra file's bytes into ``temp``."""
        await self._stream_into(self.url(_path("segments", directory, *path.split("/"))), temp)

    async def fetch_into(self, segment: Segment | ChatBatch, temp: TempFile) -> None:
        """Stream a segment's bytes into ``temp`` (which hashes them as they come)."""
        url = self.url(
            _path("segments", segment.channel, segment.quality, segment.hour, segment.name)
        )
        await self._stream_into(url, temp)

    async def _stream_into(self, url: URL, temp: TempFile) -> None:
        try:
            async with self.session.get(url, timeout=SEGMENT_TIMEOUT) as response:
                if response.status != 200:
                    raise HTTPStatusError(response.status, str(url))
                async for chunk in response.content.iter_chunked(CHUNK):
                    # disk writes and hashing release the GIL: off the loop, other copies'
                    # bytes keep flowing while this chunk is written
                    await asyncio.to_thread(temp.write, chunk)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RemoteError(f"{url}: {type(err).__name__}: {err}") from err
