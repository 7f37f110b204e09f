"""``EXT-X-MAP`` initialisation sections of one worker, fetched once each and kept in a bounded
LRU cache (SPEC §6.13): an origin that names a new init section per segment cannot grow it."""

from __future__ import annotations

from collections import OrderedDict

import aiohttp

from ..errors import HTTPStatusError
from ..sources.http import IDENTITY, read_bounded


class InitSections:
    """URI -> bytes, at most ``cap`` bytes in all (least recently used dropped first), each
    section at most ``max_one`` bytes (larger ones are refused with ``TooLarge``). Keyed by
    the URI without its query: a CDN signs the same init section anew in every playlist."""

    def __init__(self, cap: int, max_one: int) -> None:
        self.cap = cap
        self.max_one = max_one
        self.size = 0
        self._sections: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sections)

    async def get(self, uri: str | None, session: aiohttp.ClientSession) -> bytes:
        if uri is None:
            return b""
        key = uri.split("?", 1)[0]
        cached = self._sections.get(key)
        if cached is not None:
            self._sections.move_to_end(key)
            return cached
        async with session.get(uri, headers=IDENTITY) as response:
            if response.status != 200:
                raise HTTPStatusError(response.status, uri.split("?")[0])
            data = await read_bounded(response, self.max_one, "init section")
        self.put(key, data)
        return data

    def put(self, uri: str, data: bytes) -> None:
        if uri in self._sections:
            self.size -= len(self._sections.pop(uri))
        self._sections[uri] = data
        self.size += len(data)
        while self.size > self.cap and len(self._sections) > 1:
            _, old = self._sections.popitem(last=False)
            self.size -= len(old)
