"""The simulated Twitch served: a :class:`~.world.World` on one port, its clock ticking, and
the IRC chat beside it."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from types import TracebackType

from aiohttp import web

from ..clock import Clock
from .chat_server import ChatServer
from .config import SimConfig
from .server import make_app, start_site
from .world import World

log = logging.getLogger(__name__)


class Simulator(World):
    """A simulated Twitch (GraphQL token, usher, CDN) on one port: the world, served.

    ``await start(host, port)`` renders or loads the video and serves; ``base_url`` then
    stands in for both ``--twitch-gql-url`` and ``--twitch-usher-url`` (``node_url(NAME)`` for
    a node that sees the faults with ``node=NAME``). The world's state, faults and counters
    (:class:`~.world.World`) are read and changed on the simulator directly.
    """

    def __init__(self, config: SimConfig, clock: Clock | None = None) -> None:
        super().__init__(config, clock)
        self._runner: web.AppRunner | None = None
        self.chat: ChatServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.base_url = ""
        self.ca_file: str | None = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await self.prepare()
        if self._runner is None:
            self.reanchor()
        config = self.config
        if config.chat_port is not None:
            self.chat = ChatServer(
                self.clock,
                [c.name for c in config.channels],
                rate=config.chat_rate,
                duplicate_every=config.chat_duplicate_every,
                is_live=self.channel_live,
            )
        self._runner, self.base_url, self.ca_file = await start_site(
            self.counts, make_app(self, self.chat), host, port, tls=config.tls
        )
        self._ticker = asyncio.create_task(self._tick())
        log.info("simulated Twitch listening on %s", self.base_url)
        if self.chat is not None:
            await self.chat.start(host, config.chat_port or 0)

    async def stop(self) -> None:
        if self.chat is not None:
            await self.chat.stop()
            self.chat = None
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.ca_file is not None:
            shutil.rmtree(Path(self.ca_file).parent, ignore_errors=True)

    async def _tick(self) -> None:
        while True:
            try:
                self.advance()
            except Exception:  # a bad fault must not stop time
                log.exception("simulator tick failed")
            await self.clock.sleep(self.config.segment_duration / 4)

    def node_url(self, node: str) -> str:
        """The base URL under which the faults with ``node=NODE`` apply."""
        return f"{self.base_url}/node/{node}"
