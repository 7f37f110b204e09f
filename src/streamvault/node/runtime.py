"""A running node: restreamer, downloader, backfiller and coverage sharing one store and loop.

``Node(config)`` is what ``streamvault node`` runs and what the demo and tests embed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from datetime import datetime
from typing import Any

import aiohttp

from ..backfiller.command import parse_start
from ..backfiller.peers import PeerDiscovery, peer_from_url, redact_url
from ..backfiller.service import Backfiller
from ..backfiller.service import Settings as BackfillSettings
from ..chat.archiver import ChatArchiver, ChatSettings
from ..chat.command import read_token
from ..chat.connection import ServerAddress
from ..chat.emotes import EMOTES_DIR
from ..chat.metrics import ChatCoverageCollector
from ..chat.store import ChatStore
from ..clock import Clock, SystemClock
from ..console import ConsoleServer
from ..coverage.command import parse_node
from ..coverage.metrics import CoverageCollector
from ..coverage.scan import CoverageScanner
from ..coverage.service import CoverageService
from ..cutjobs.output import open_output
from ..cutjobs.service import Cutter
from ..cutjobs.service import Settings as CutterSettings
from ..downloader.service import Downloader, parse_channel
from ..downloader.settings import Settings as DownloadSettings
from ..errors import BadTime, ConfigError
from ..events.db import create_engine, database_url
from ..events.store import EventStore
from ..metrics import REGISTRY
from ..restreamer.app import create_app
from ..restreamer.archive import Archive
from ..restreamer.serving import ConnectionSettings, Listener
from ..sources.twitch import GQL_URL, USHER_URL
from ..store.chat_naming import CHAT_QUALITY
from ..store.disk import SegmentStore, ensure_dir
from .config import NodeConfig
from .supervisor import start_supervised

log = logging.getLogger(__name__)

#: How long a stopping node lets the cutter finish the job in hand before cancelling it; real
#: seconds, not the clock's: the job is ffmpeg's, which runs in real time whatever the clock.
CUTTER_STOP_DEADLINE = 10.0


class Node:
    def __init__(
        self,
        config: NodeConfig,
        clock: Clock | None = None,
        download_settings: DownloadSettings | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.download_settings = download_settings or DownloadSettings(
            stop_grace=config.stop_grace, max_segment_bytes=config.max_segment_bytes
        )
        self.store = SegmentStore(config.base_dir)
        self.channels = [parse_channel(text) for text in config.channels]
        self.downloader: Downloader | None = None
        self.backfiller: Backfiller | None = None
        self.coverage: CoverageService | None = None
        self.console: ConsoleServer | None = None
        self.chat: ChatArchiver | None = None
        url = database_url(config.database_url, config.base_dir, env={})
        self.events = EventStore(create_engine(url), self.clock)
        self.cutter: Cutter | None = None
        self._cutter_task: asyncio.Task[None] | None = None
        self._stop_cutter = asyncio.Event()
        self.port = config.port
        self._listener: Listener | None = None
        self._session: aiohttp.ClientSession | None = None
        self._collector: CoverageCollector | None = None
        self._chat_collector: ChatCoverageCollector | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stop_coverage = asyncio.Event()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "::", "") else self.config.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        ensure_dir(self.store.base_dir)
        self.store.remove_stale_temp_files()
        self.store.upgrade_tombstones()
        await self.events.open()
        await self._start_restreamer()
        if self.config.recording:
            self._start_downloader()
        if self.config.backfiller:
            self._start_backfiller()
        if self.config.coverage:
            self._start_coverage()
        if self.config.chat and self.channels:
            self._start_chat()
        if self.config.cutter:
            self._start_cutter()
        if self.config.console_port is not None:
            self.console = ConsoleServer(self.console_namespace(), self.config.console_port)
            await self.console.start()
        log.info(
            "node up: restreamer on %s, recording %s, %s",
            self.url,
            ", ".join(c.name for c in self.channels) if self.config.recording else "nothing",
            f"backfilling from {self._peer_summary()}" if self.backfiller else "no backfill",
        )

    async def _start_restreamer(self) -> None:
        app = create_app(
            self.store.base_dir, store=self.store, clock=self.clock, events=self.events
        )
        settings = ConnectionSettings(self.config.idle_timeout, self.config.max_connections)
        self._listener = Listener(app, self.config.host, self.config.port, settings)
        await self._listener.start()
        self.port = self._listener.port

    def _start_cutter(self) -> None:
        output = open_output(self.config.cutter_output, self.config.s3_endpoint_url)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self.cutter = Cutter(
            self.events,
            Archive(self.store),
            output,
            peers=[peer_from_url(url) for url in self.config.nodes],
            session=self._session,
            clock=self.clock,
            settings=CutterSettings(lease=self.config.cutter_lease),
        )
        cutter = self.cutter
        self._cutter_task = start_supervised(
            "cutter", lambda: cutter.run(self._stop_cutter), self.clock, stop=self._stop_cutter
        )

    async def _stop_cutter_task(self) -> None:
        if self._cutter_task is None:
            return
        self._stop_cutter.set()
        try:
            await asyncio.wait_for(self._cutter_task, CUTTER_STOP_DEADLINE)
        except (TimeoutError, asyncio.CancelledError):
            log.warning(
                "cutter did not finish its job within %.0f s: stopped", CUTTER_STOP_DEADLINE
            )
        except Exception:
            log.exception("cutter failed")

    def _start_downloader(self) -> None:
        context = None
        if self.config.ca_file:
            context = ssl.create_default_context(cafile=self.config.ca_file)
        token = read_token(self.config.twitch_auth_file, "twitch_auth_file")
        self.downloader = Downloader(
            self.store,
            self.channels,
            self.config.qualities,
            clock=self.clock,
            settings=self.download_settings,
            gql_url=self.config.twitch_gql_url or GQL_URL,
            usher_url=self.config.twitch_usher_url or USHER_URL,
            auth_token=token,
            ssl_context=context,
            usher_path=self.config.twitch_usher_path,
        )
        self._tasks.append(
            start_supervised(
                "downloader", self.downloader.run, self.clock, stop=self.downloader.stopped
            )
        )

    def _start_chat(self) -> None:
        config = self.config
        token = read_token(config.twitch_auth_file, "twitch_auth_file")
        if token and not config.twitch_nick:
            raise ConfigError("twitch_auth_file with chat needs twitch_nick, the token's login")
        port = config.irc_port or (6697 if config.irc_tls else 6667)
        settings = ChatSettings(
            node_name=config.node_name or socket.gethostname(),
            address=ServerAddress(config.irc_host, port, config.irc_tls, config.ca_file),
            nick=config.twitch_nick if token else None,
            token=token,
            merge_interval=config.chat_merge_interval,
            emotes_url=config.emotes_url if config.emotes else None,
        )
        channels = [c.name for c in self.channels]
        self.chat = ChatArchiver(self.store.base_dir, channels, settings, self.clock)
        self.chat.start()
        self._chat_collector = ChatCoverageCollector(ChatStore(self.store.base_dir), channels)
        REGISTRY.register(self._chat_collector)

    def _peer_summary(self) -> str:
        parts = [redact_url(url) for url in self.config.nodes]
        if self.config.node_file:
            parts.append(f"file {self.config.node_file}")
        if self.config.node_dns:
            parts.append(f"DNS {self.config.node_dns}")
        return ", ".join(parts)

    def _start_backfiller(self) -> None:
        if not (self.config.nodes or self.config.node_file or self.config.node_dns):
            log.info("no peers configured (nodes, node_file, node_dns): backfill is off")
            return
        if not self.channels:
            log.info("no channels configured: backfill is off")
            return
        discovery = PeerDiscovery(
            self.config.nodes,
            self.config.node_file,
            self.config.node_dns,
            self.config.localhost or self.url,
        )
        start = self._backfill_start()  # before the session: a bad value leaves nothing open
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0)
            )
        # archived chat and its emotes are copied too (SPEC §8), unless listed already
        qualities = list(self.config.qualities)
        extras = list(self.config.extras)
        if self.config.chat and CHAT_QUALITY not in qualities:
            qualities.append(CHAT_QUALITY)
        if self.config.chat and self.config.emotes and EMOTES_DIR not in extras:
            extras.append(EMOTES_DIR)
        settings = BackfillSettings(
            channels=tuple(c.name for c in self.channels),
            qualities=tuple(qualities),
            start=start,
            recent_cutoff=self.config.recent_cutoff,
            interval=self.config.backfill_interval,
            extras=tuple(extras),
            max_tombstone_share=self.config.max_tombstone_share,
            accept_tombstones=frozenset(self.config.accept_tombstones),
        )
        self.backfiller = Backfiller(self.store, settings, discovery, self._session, self.clock)
        self._tasks.append(start_supervised("backfiller", self.backfiller.run, self.clock))

    def _backfill_start(self) -> float | datetime:
        try:
            return parse_start(self.config.backfill_start)
        except BadTime as err:
            raise ConfigError(f"backfill_start: {err}") from err

    def _start_coverage(self) -> None:
        channels = [c.name for c in self.channels] or None
        scanner = CoverageScanner(self.store, channels, self.config.qualities or None)
        nodes = [parse_node(text) for text in self.config.coverage_nodes]
        self.coverage = CoverageService(
            self.store, scanner, nodes, clock=self.clock, interval=self.config.coverage_interval
        )
        self._collector = CoverageCollector(scanner)
        REGISTRY.register(self._collector)
        coverage = self.coverage
        self._tasks.append(
            start_supervised(
                "coverage",
                lambda: coverage.run(stop=self._stop_coverage),
                self.clock,
                stop=self._stop_coverage,
            )
        )

    def console_namespace(self) -> dict[str, Any]:
        def workers() -> list[str]:
            """One line per (channel, quality) worker the downloader runs."""
            if self.downloader is None:
                return []
            return [
                f"{manager.channel}/{quality}: {len(running)} worker(s)"
                for manager in self.downloader.managers
                for quality, running in manager.workers.items()
            ]

        return {"node": self, "config": self.config, "store": self.store, "workers": workers}

    async def stop(self) -> None:
        """Graceful: recording stops after in-flight segments, then everything else."""
        if self.console is not None:
            await self.console.stop()
        if self.downloader is not None:
            await self.downloader.stop()
        if self.chat is not None:
            await self.chat.stop()
        self._stop_coverage.set()
        await self._stop_cutter_task()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for collector in (self._collector, self._chat_collector):
            if collector is not None:
                REGISTRY.unregister(collector)
        self._collector = self._chat_collector = None
        if self._session is not None:
            await self._session.close()
        if self._listener is not None:
            await self._listener.stop()
        await self.events.close()
        log.info("node stopped")

    async def __aenter__(self) -> Node:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
