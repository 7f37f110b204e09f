"""The downloader as one object other components can embed (``streamvault node``)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..errors import ConfigError
from ..sources.twitch import GQL_URL, USHER_URL, TwitchSource
from ..sources.url import UrlSource
from ..store.disk import SegmentStore
from .manager import ChannelManager, Source
from .settings import Settings

TYPES = ("twitch", "url")


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    important: bool = False
    type: str = "twitch"
    url: str | None = None


def parse_channel(text: str) -> ChannelSpec:
    """``CHANNEL[!][:TYPE:URL]``: ``foo``, ``foo!``, ``foo:url:https://host/x.m3u8``."""
    name, _, rest = text.partition(":")
    important = name.endswith("!")
    name = name.rstrip("!")
    if not name or name.startswith(".") or "/" in name:
        raise ConfigError(f"bad channel name in {text!r}")
    if not rest:
        return ChannelSpec(name, important)
    kind, _, url = rest.partition(":")
    if kind not in TYPES:
        raise ConfigError(f"unknown channel type {kind!r} in {text!r} (want one of {TYPES})")
    if kind == "url" and not url:
        raise ConfigError(f"channel type url needs a URL: {text!r}")
    return ChannelSpec(name, important, kind, url or None)


class Downloader:
    """Every channel manager of one process; ``start`` then ``stop``."""

    def __init__(
        self,
        store: SegmentStore,
        channels: list[ChannelSpec],
        qualities: list[str],
        clock: Clock | None = None,
        settings: Settings | None = None,
        gql_url: str = GQL_URL,
        usher_url: str = USHER_URL,
        auth_token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.settings = settings or Settings()
        self.managers: list[ChannelManager] = []
        for spec in channels:
            source: Source
            if spec.type == "url":
                assert spec.url is not None
                source = UrlSource(spec.url, self.settings.playlist_timeout)
                wanted = ["source"]
            else:
                source = TwitchSource(
                    spec.name, gql_url, usher_url, auth_token, self.settings.playlist_timeout
                )
                wanted = qualities
            self.managers.append(
                ChannelManager(
                    spec.name,
                    source,
                    wanted,
                    store,
                    self.clock,
                    self.settings,
                    spec.important,
                    ssl_context,
                )
            )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start every channel manager. Stale temp files are the start-up shell's job (the
        store is shared with other components in ``streamvault node``)."""
        self._tasks = [asyncio.create_task(m.run()) for m in self.managers]

    async def stop(self, grace: float | None = None) -> None:
        """Stop polling, let in-flight getters finish (bounded), leave no temp files."""
        grace = self.settings.shutdown_grace if grace is None else grace
        for manager in self.managers:
            manager.stop()
        await asyncio.gather(*(m.wait_closed(grace) for m in self.managers))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task

    async def __aenter__(self) -> Downloader:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
