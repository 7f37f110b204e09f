"""Emote images of archived chat, fetched once into ``BASE/emotes/ID/THEME-SCALE`` (the layout
wubloader's archiver writes), so that they replicate as extras (SPEC §8) and the chat replay
can show them even after Twitch drops an emote.

``emote_ids`` (pure) reads Twitch's ``emotes`` tag (``25:0-4,12-16/1902:6-10``).
``EmoteFetcher`` downloads each new emote's themes and scales from a settable URL template,
a few at a time, with growing back-off between attempts and a bounded queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable

import aiohttp

from ..backoff import Backoff
from ..clock import Clock
from ..errors import StoreError
from ..store.disk import atomic_write
from ..store.naming import check_path_part

log = logging.getLogger(__name__)

#: Twitch's emote CDN; {id}, {theme} and {scale} are filled in
DEFAULT_URL = "https://static-cdn.jtvnw.net/emoticons/v2/{id}/default/{theme}/{scale}"
THEMES = ("light", "dark")
SCALES = ("1.0", "2.0", "3.0")
EMOTES_DIR = "emotes"
#: bounds: emotes waiting, downloads at once, attempts per image
MAX_PENDING = 10_000
CONCURRENCY = 4
ATTEMPTS = 5
MAX_RETRY_DELAY = 300.0


def emote_ids(tag: str | bool | None) -> list[str]:
    """Emote ids of an ``emotes`` tag value; ids that could leave the directory are dropped."""
    if not isinstance(tag, str) or not tag:
        return []
    ids = []
    for part in tag.split("/"):
        ident = part.partition(":")[0]
        if ident and not ident.startswith(".") and "/" not in ident and "\\" not in ident:
            ids.append(ident)
    return ids


class EmoteFetcher:
    def __init__(
        self, base_dir: str, clock: Clock, url: str = DEFAULT_URL, *, retry_delay: float = 5.0
    ) -> None:
        self.directory = os.path.join(os.path.abspath(base_dir), EMOTES_DIR)
        self.clock = clock
        self.url = url
        self.retry_delay = retry_delay
        self._seen: set[str] = set()
        self._queue: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING)
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.fetched = 0
        self.failed = 0

    def want(self, ids: Iterable[str]) -> None:
        for ident in ids:
            if ident in self._seen:
                continue
            try:
                self._queue.put_nowait(ident)
            except asyncio.QueueFull:
                return  # seen again later, when the queue has room
            self._seen.add(ident)

    def path(self, ident: str, theme: str, scale: str) -> str:
        return os.path.join(self.directory, check_path_part(ident), f"{theme}-{scale}")

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._tasks = [asyncio.create_task(self._work()) for _ in range(CONCURRENCY)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def join(self) -> None:
        """Wait until every emote wanted so far has been fetched or given up."""
        await self._queue.join()

    async def _work(self) -> None:
        while True:
            ident = await self._queue.get()
            try:
                for theme in THEMES:
                    for scale in SCALES:
                        await self._fetch(ident, theme, scale)
            finally:
                self._queue.task_done()

    async def _fetch(self, ident: str, theme: str, scale: str) -> None:
        path = self.path(ident, theme, scale)
        if await asyncio.to_thread(os.path.exists, path):
            return
        url = self.url.format(id=ident, theme=theme, scale=scale)
        assert self._session is not None
        backoff = Backoff(self.retry_delay, MAX_RETRY_DELAY, jitter=(0.5, 1.0))
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._session.get(url) as response:
                    if response.status == 404:
                        log.info("emote %s has no %s-%s image (404)", ident, theme, scale)
                        return
                    response.raise_for_status()
                    data = await response.read()
                await asyncio.to_thread(atomic_write, path, data)
                self.fetched += 1
                return
            except (aiohttp.ClientError, TimeoutError, StoreError) as err:
                if attempt == ATTEMPTS:
                    self.failed += 1
                    log.warning("emote %s %s-%s: giving up after %d attempts: %s",
                                ident, theme, scale, attempt, err)  # fmt: skip
                    return
                await self.clock.sleep(backoff.delay(attempt))
