"""A plain HLS URL (master or media playlist) recorded as quality ``source`` (SPEC §6)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from ..clock import Clock
from ..errors import HTTPStatusError, StreamOffline
from ..hls.parse import is_master, parse_master
from .http import MAX_TEXT_BYTES, fetch_text
from .variants import SOURCE, choose_variant


@dataclass(frozen=True, slots=True)
class UrlSource:
    url: str
    timeout: float = 20.0
    max_bytes: int = MAX_TEXT_BYTES

    async def media_playlists(
        self, session: aiohttp.ClientSession, clock: Clock, qualities: list[str]
    ) -> dict[str, str | None]:
        try:
            text = await fetch_text(
                session, clock, self.url, "master", self.timeout, max_bytes=self.max_bytes
            )
        except HTTPStatusError as err:
            if err.status in (403, 404, 410):
                raise StreamOffline(f"{self.url.split('?')[0]} answered {err.status}") from err
            raise
        if is_master(text):
            variant = choose_variant(parse_master(text, self.url), SOURCE)
            media = variant.uri if variant else None
        else:
            media = self.url
        return {quality: media if quality == SOURCE else None for quality in qualities}
