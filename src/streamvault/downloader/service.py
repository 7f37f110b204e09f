"""The downloader as one object other components can embed (``streamvault node``)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..errors import ConfigError
from ..sources.twitch import GQL_URL, USHER_PATH, USHER_URL, TwitchSource
from ..sources.url import UrlSource
from ..store.disk import SegmentStore
from .manager import ChannelManager, Source
from .settings import Settings

TYPES = ("twitch", "url")
ABANDON_SECONDS = 0.5  # real seconds abandoned getters get to clean up before a hard cancel


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    important: bool = False
    type: str = "twitch"
    url: str | None = None


#: Names the store uses beside channels (``BASE/coverage-maps``, ``BASE/emotes``) or that a
#: reader would take for something else (``chat`` is a quality); never a channel.
RESERVED_NAMES = frozenset({"coverage-maps", "emotes", "chat"})
_BAD_CHARACTERS = frozenset('%/\\?#:*"<>|')


def check_channel_name(name: str, text: str | None = None) -> None:
    """Refuse a channel name that is not a safe, unambiguous directory name (one line)."""
    shown = repr(text if text is not None else name)
    bad = sorted({c for c in name if c in _BAD_CHARACTERS or not c.isprintable() or c.isspace()})
    if not name:
        why = "it is empty"
    elif name.startswith("."):
        why = "it starts with '.'"
    elif bad:
        why = f"it contains {''.join(bad)!r}"
    elif name.lower() in RESERVED_NAMES:
        why = "the store reserves that name"
    else:
        return
    raise ConfigError(f"bad channel name in {shown}: {why}")


def parse_channel(text: str) -> ChannelSpec:
    """``CHANNEL[!][:TYPE:URL]``: ``foo``, ``foo!``, ``foo:url:https://host/x.m3u8``."""
    name, _, rest = text.partition(":")
    important = name.endswith("!")
    name = name.removesuffix("!")
    check_channel_name(name, text)
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
        usher_path: str = USHER_PATH,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.settings = settings or Settings()
        self.managers: list[ChannelManager] = []
        for spec in channels:
            check_channel_name(spec.name)
            source: Source
            if spec.type == "url":
                assert spec.url is not None
                source = UrlSource(
                    spec.url, self.settings.playlist_timeout, self.settings.max_playlist_bytes
                )
                wanted = ["source"]
            else:
                source = TwitchSource(
                    spec.name,
                    gql_url,
                    usher_url,
                    auth_token,
                    self.settings.playlist_timeout,
                    usher_path,
                    self.settings.max_playlist_bytes,
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
        self._run: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()  # set by stop(): run() returning then is no failure

    def start(self) -> None:
        """Run :meth:`run` as a task (``streamvault download``; ``streamvault node`` runs it
        under its supervisor instead). Stale temp files are the start-up shell's job (the
        store is shared with other components in ``streamvault node``)."""
        self._run = asyncio.create_task(self.run(), name="downloader")

    async def run(self) -> None:
        """Every channel manager's loop, until :meth:`stop`. If one raises (our bug), the
        other loops are cancelled too and the error raised, for a supervisor to log and call
        ``run`` again: the managers keep their state and their workers keep recording
        meanwhile, so a restart picks up where the loops left off."""
        self._tasks = [
            asyncio.create_task(m.run(), name=f"channel manager {m.channel}") for m in self.managers
        ]
        try:
            for done in asyncio.as_completed(self._tasks):
                await done
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self, grace: float | None = None) -> None:
        """Stop polling; in-flight getters get ``grace`` clock seconds (``--stop-grace``), then
        are abandoned: their temp files are removed, segments already saved stay."""
        grace = self.settings.stop_grace if grace is None else grace
        self.stopped.set()
        for manager in self.managers:
            manager.stop()
        workers = {task for manager in self.managers for task in manager.tasks}
        if workers:
            every = asyncio.ensure_future(asyncio.wait(workers))
            try:
                await self.clock.wait_any({every}, grace)
            finally:
                every.cancel()
        for manager in self.managers:
            manager.abandon()
        # Cancelled getters remove their temp files and workers close their pools at once;
        # a last bound in case something does not let go.
        left = {task for manager in self.managers for task in manager.tasks}
        if left:
            _, stuck = await asyncio.wait(left, timeout=ABANDON_SECONDS)
            for task in stuck:
                task.cancel()
        loops = [*self._tasks, *([self._run] if self._run is not None else [])]
        for task in loops:
            task.cancel()
        for task in [*loops, *left]:
            with contextlib.suppress(BaseException):
                await task

    async def __aenter__(self) -> Downloader:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
