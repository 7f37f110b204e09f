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
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from ..errors import AnswerTooLarge, HTTPStatusError, RemoteError
from ..store.chat_naming import ChatBatch
from ..store.disk import TempFile
from ..store.naming import Segment
from .answers import (
    MAX_BODY_BYTES,
    Change,
    FeedAnswer,
    parse_feed_answer,
    parse_json,
    string_list,
)
from .peers import Peer

__all__ = ["Change", "FeedAnswer", "PeerClient", "parse_feed_answer"]

#: Segment bodies may be large and the peer busy, but a stalled body is abandoned.
#: Every timeout here is in real seconds, not the clock's: requests to peers cross a real
#: network whose delays no time scale shortens (on the clock, the chaos campaign's lossy
#: 3 Mbit/s link at scale 4 left listings 2.5 s and its hash disagreements were decided
#: differently).
SEGMENT_TIMEOUT = aiohttp.ClientTimeout(total=300, sock_connect=5, sock_read=30)
CHUNK = 256 * 1024
#: The longest body of a segment or file taken from a peer (2 s of 1080p60 is about 2 MB).
MAX_SEGMENT_BYTES = 256 * 1024 * 1024


def _path(*parts: str) -> str:
    return "/".join(quote(part, safe=":") for part in parts)


class PeerClient:
    """Requests to one peer through a shared session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        peer: Peer,
        listing_timeout: float = 20.0,
        max_segment_bytes: int = MAX_SEGMENT_BYTES,
    ) -> None:
        self.session = session
        self.peer = peer
        self.listing_timeout = aiohttp.ClientTimeout(total=listing_timeout, sock_connect=5)
        self.max_segment_bytes = max_segment_bytes

    def url(self, path: str) -> URL:
        return URL(f"{self.peer.url}/{path}", encoded=True)

    def shown(self, path: str) -> str:
        """The URL of ``path`` as logs and errors show it: without credentials."""
        return f"{self.peer.shown_url}/{path}"

    async def _get_json(
        self,
        path: str,
        params: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Any | None:
        """The JSON body, or ``None`` for a 404."""
        url, shown = self.url(path), self.shown(path)
        timeout = timeout or self.listing_timeout
        try:
            async with self.session.get(url, params=params, timeout=timeout) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise HTTPStatusError(response.status, shown)
                body = await _read_capped(response, MAX_BODY_BYTES, shown)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RemoteError(f"{shown}: {type(err).__name__}: {err}") from err
        if len(body) < 256 * 1024:
            return parse_json(body, shown)
        return await asyncio.to_thread(parse_json, body, shown)  # keep the loop free

    async def list_hours(self, channel: str, quality: str) -> list[str]:
        """Hour names the peer has for a channel and quality (``[]`` when it has none)."""
        data = await self._get_json(_path("files", channel, quality))
        return [] if data is None else string_list(data, self.peer.shown_url)

    async def list_hour(self, channel: str, quality: str, hour: str) -> list[str]:
        """Segment and tombstone names in one hour (``[]`` when the peer has no such hour)."""
        data = await self._get_json(
            _path("files", channel, quality, hour), params={"tombstones": "true"}
        )
        return [] if data is None else string_list(data, self.peer.shown_url)

    async def changes(
        self, channel: str, quality: str, cursor: int | None, timeout: float
    ) -> FeedAnswer | None:
        """Long-poll the change feed; ``None`` when the peer does not offer one (404)."""
        params = {"timeout": f"{timeout:g}"}
        if cursor is not None:
            params["cursor"] = str(cursor)
        client_timeout = aiohttp.ClientTimeout(total=timeout + 15, sock_connect=5)
        data = await self._get_json(_path("changes", channel, quality), params, client_timeout)
        return None if data is None else parse_feed_answer(data, self.peer.shown_url)

    async def list_extras(self, directory: str) -> list[str]:
        """Relative paths of every file in an extra directory (``[]`` when it has none)."""
        data = await self._get_json(_path("extras", directory))
        return [] if data is None else string_list(data, self.peer.shown_url)

    async def fetch_extra_into(self, directory: str, path: str, temp: TempFile) -> None:
        """Stream an extra file's bytes into ``temp``."""
        await self._stream_into(_path("segments", directory, *path.split("/")), temp)

    async def fetch_into(self, segment: Segment | ChatBatch, temp: TempFile) -> None:
        """Stream a segment's bytes into ``temp`` (which hashes them as they come)."""
        path = _path("segments", segment.channel, segment.quality, segment.hour, segment.name)
        await self._stream_into(path, temp)

    async def _stream_into(self, path: str, temp: TempFile) -> None:
        """Stream the body of ``path`` into ``temp``; a body past the size limit is refused
        (:class:`AnswerTooLarge`) as soon as its length says so, or its bytes pass it."""
        url, shown = self.url(path), self.shown(path)
        limit = self.max_segment_bytes
        try:
            async with self.session.get(url, timeout=SEGMENT_TIMEOUT) as response:
                if response.status != 200:
                    raise HTTPStatusError(response.status, shown)
                length = response.content_length
                if length is not None and length > limit:
                    raise AnswerTooLarge(f"{shown}: a body of {length} bytes (at most {limit})")
                async for chunk in response.content.iter_chunked(CHUNK):
                    if temp.size + len(chunk) > limit:
                        raise AnswerTooLarge(f"{shown}: a body of more than {limit} bytes")
                    # disk writes and hashing release the GIL: off the loop, other copies'
                    # bytes keep flowing while this chunk is written
                    await asyncio.to_thread(temp.write, chunk)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RemoteError(f"{shown}: {type(err).__name__}: {err}") from err


async def _read_capped(response: aiohttp.ClientResponse, limit: int, shown: str) -> bytes:
    """The whole body, refused (unread) as soon as it would pass ``limit`` bytes."""
    length = response.content_length
    if length is not None and length > limit:
        raise AnswerTooLarge(f"{shown}: an answer of {length} bytes (at most {limit})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge(f"{shown}: an answer of more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
