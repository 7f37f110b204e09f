"""The chat archiver of one channel (SPEC §14): connections, batches, merges.

One connection at a time records the channel; a ``RECONNECT`` from the server starts the
next one at once and the old one keeps recording until the new one has joined (plus a
grace), so the handover leaves no gap (the doubled messages merge into one). A connection
that drops is replaced after a growing, jittered back-off. Batches are written once their
minute plus the allowed lag has passed, and at stop; a periodic merge folds several files
of one batch time into one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from ..backoff import Backoff
from ..clock import Clock
from ..errors import StoreError
from ..timeutil import to_seconds
from . import metrics
from .batches import ALLOWED_LAG, BatchBuffer
from .connection import ChatConnection, Login, ServerAddress
from .emotes import EmoteFetcher
from .messages import Message
from .recorder import ConnectionRecorder
from .store import ChatStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatSettings:
    node_name: str
    address: ServerAddress = field(default_factory=ServerAddress)
    nick: str | None = None  # None: anonymous justinfanNNNNN
    token: str | None = None
    lag: float = ALLOWED_LAG
    merge_interval: float = 60.0
    backoff_min: float = 1.0
    backoff_max: float = 60.0
    #: the old connection keeps recording this long after its replacement has joined
    handover_grace: float = 10.0
    ping_after: float = 240.0
    idle_timeout: float = 330.0
    #: the stop's deadlines bound real work (closing sockets, a disk write in a thread), so
    #: they are real seconds, not the clock's
    stop_timeout: float = 5.0
    #: at stop, how long a batch write already under way may take to finish
    write_timeout: float = 60.0
    #: fetch the emotes of kept messages from this URL template into BASE/emotes (None: off)
    emotes_url: str | None = None


def anonymous_nick() -> str:
    return f"justinfan{random.randint(10000, 99999)}"


class _Link:
    """A connection with its recorder and task."""

    def __init__(self, number: int, connection: ChatConnection, recorder: ConnectionRecorder):
        self.number = number
        self.connection = connection
        self.recorder = recorder
        self.task: asyncio.Task[None] | None = None
        self.joined = asyncio.Event()
        self.reconnect = asyncio.Event()


class ChannelArchiver:
    def __init__(
        self,
        channel: str,
        store: ChatStore,
        settings: ChatSettings,
        clock: Clock,
        emotes: EmoteFetcher | None = None,
    ) -> None:
        self.channel = channel.lower()
        self.store = store
        self.settings = settings
        self.clock = clock
        self.nick = settings.nick or anonymous_nick()
        self.emotes = emotes
        self.buffer = BatchBuffer(settings.lag)
        self.links: list[_Link] = []
        self.joined = asyncio.Event()  # set once a first connection has joined
        self.last_id: str | None = None  # id of the newest message any connection kept
        self._numbers = count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._logged: set[str] = set()
        self._kept: dict[str, Any] = {}  # command -> metric child, looked up once
        self._retiring: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Task[bool]] = set()  # batch writes under way
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        removed = self.store.remove_stale_temp_files(self.channel)
        if removed:
            log.info("[%s] removed %d stale chat temp files", self.channel, removed)
        self._tasks = [
            asyncio.create_task(self._supervise()),
            asyncio.create_task(self._write_loop()),
            asyncio.create_task(self._merge_loop()),
        ]

    async def stop(self) -> None:
        """Close the connections, write every open batch, merge once more. Idempotent."""
        if self._stopping:
            return
        self._stopping = True
        for task in (*self._tasks, *self._retiring):
            task.cancel()
        for link in self.links:
            link.connection.close("stop")
        pending = [t for t in (*self._tasks, *(link.task for link in self.links)) if t]
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.settings.stop_timeout)
            for task in late:
                task.cancel()
        await self._finish_writes()
        self._record_all()
        await self._write(self.buffer.drain())
        await self.merge_once()
        metrics.CONNECTED.labels(self.channel).set(0)
        log.info("[%s] chat archiver stopped", self.channel)

    # -- connections -------------------------------------------------------------------------

    def _open(self) -> _Link:
        number = next(self._numbers)
        s = self.settings
        connection = ChatConnection(
            s.address,
            Login(self.nick, s.token),
            self.channel,
            self.clock,
            ping_after=s.ping_after,
            idle_timeout=s.idle_timeout,
        )
        recorder = ConnectionRecorder(number, s.node_name, self.buffer, emotes=bool(self.emotes))
        link = _Link(number, connection, recorder)
        link.task = asyncio.create_task(self._run_link(link))
        self.links.append(link)
        return link

    async def _run_link(self, link: _Link) -> None:
        try:
            await link.connection.run(lambda lines: self._on_data(link, lines))
        except (OSError, TimeoutError) as err:
            link.connection.end_reason = "error"
            log.warning("[%s] chat connection %d failed: %s", self.channel, link.number, err)
        finally:
            self._record(link)
            self.links.remove(link)
            metrics.CONNECTIONS.labels(self.channel, link.connection.end_reason).inc()
            metrics.CONNECTED.labels(self.channel).set(sum(lk.joined.is_set() for lk in self.links))

    def _on_data(self, link: _Link, lines: list[bytes]) -> None:
        recorder = link.recorder
        overflowed = link.connection.splitter.overflowed
        if overflowed:
            link.connection.splitter.overflowed = 0
            recorder.too_long(overflowed)
        recorder.feed(lines, to_seconds(self.clock.now()))
        if recorder.last_id is not None:
            self.last_id = recorder.last_id
        if recorder.emotes and self.emotes is not None:
            self.emotes.want(recorder.emotes)
            recorder.emotes.clear()
        if recorder.joined and not link.joined.is_set():
            link.joined.set()
            self.joined.set()
            log.info("[%s] chat connection %d joined as %s", self.channel, link.number, self.nick)
            metrics.CONNECTED.labels(self.channel).set(sum(lk.joined.is_set() for lk in self.links))
        if recorder.reconnect_asked and not link.reconnect.is_set():
            link.reconnect.set()
        if recorder.problems:
            self._record(link)  # logged at once; the counts go out with the write loop's tick

    async def _supervise(self) -> None:
        """Keep one connection recording; hand over on RECONNECT, back off after drops."""
        backoff = Backoff(self.settings.backoff_min, self.settings.backoff_max, jitter=(0.5, 1.0))
        drops = 0  # connections in a row that ended without joining
        link = self._open()
        while not self._stopping:
            assert link.task is not None
            reconnect = asyncio.create_task(link.reconnect.wait())
            await asyncio.wait({link.task, reconnect}, return_when=asyncio.FIRST_COMPLETED)
            reconnect.cancel()
            if link.reconnect.is_set():
                log.info(
                    "[%s] server asked for RECONNECT: opening the next connection", self.channel
                )
                new = self._open()
                retire = asyncio.create_task(self._retire(link, new))
                self._retiring.add(retire)
                retire.add_done_callback(self._retiring.discard)
                link, drops = new, 0
                continue
            drops = 1 if link.joined.is_set() else drops + 1
            wait = backoff.delay(drops)
            log.warning(
                "[%s] chat connection %d ended (%s): reconnecting in %.1f s",
                self.channel,
                link.number,
                link.connection.end_reason,
                wait,
            )
            await self.clock.sleep(wait)
            link = self._open()

    async def _retire(self, old: _Link, new: _Link) -> None:
        """Let ``old`` record until ``new`` has joined, plus the grace, then close it."""
        assert old.task is not None and new.task is not None
        joined = asyncio.create_task(new.joined.wait())
        await asyncio.wait({joined, old.task, new.task}, return_when=asyncio.FIRST_COMPLETED)
        joined.cancel()
        if new.joined.is_set():
            await self.clock.sleep(self.settings.handover_grace)
        old.connection.close("reconnect")

    # -- counts and problems -----------------------------------------------------------------

    def _record(self, link: _Link) -> None:
        recorder = link.recorder
        for command, n in recorder.kept.items():
            child = self._kept.get(command)
            if child is None:
                child = self._kept[command] = metrics.MESSAGES.labels(self.channel, command)
            child.inc(n)
        recorder.kept.clear()
        for command, n in recorder.ignored.items():
            metrics.IGNORED.labels(self.channel, command).inc(n)
        recorder.ignored.clear()
        for kind, n in recorder.problems.items():
            metrics.BAD_LINES.labels(self.channel, kind).inc(n)
            if kind not in self._logged:
                self._logged.add(kind)
                log.warning(
                    "[%s] chat server sent a line with a problem (%s), e.g. %s; further "
                    "ones are only counted",
                    self.channel,
                    kind,
                    recorder.examples[kind],
                )
        recorder.problems.clear()
        if recorder.server_lag is not None:
            metrics.SERVER_LAG.labels(self.channel).set(recorder.server_lag)

    def _record_all(self) -> None:
        for link in self.links:
            self._record(link)

    # -- batches -----------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            now = to_seconds(self.clock.now())
            self._record_all()
            ready = self.buffer.closable(now)
            if ready and not await self._write(ready):
                await self.clock.sleep(5.0)
            metrics.OPEN_BATCHES.labels(self.channel).set(len(self.buffer))
            next_close = self.buffer.next_close()
            wait = 1.0 if next_close is None else min(1.0, max(0.05, next_close - now))
            await self.clock.sleep(wait)

    async def _write(self, batches: Iterable[tuple[int, list[Message]]]) -> bool:
        """Write the batches; False when the store failed (they are back in the buffer).

        The write runs to its end even when the caller is cancelled (a stop arriving in the
        middle of it) and :meth:`stop` waits for it: its messages have left the buffer, so
        until it is done they are nowhere else."""
        messages = [m for _, batch in batches for m in batch]
        if not messages:
            return True
        job = asyncio.create_task(self._store_messages(messages))
        self._writes.add(job)
        job.add_done_callback(self._writes.discard)
        return await asyncio.shield(job)

    async def _store_messages(self, messages: list[Message]) -> bool:
        try:
            written = await asyncio.to_thread(self.store.write, self.channel, messages)
        except StoreError as err:
            log.error(
                "[%s] cannot write chat batches (%s): keeping %d messages to retry",
                self.channel,
                err,
                len(messages),
            )
            for message in messages:
                self.buffer.add(0, message)
            return False
        metrics.BATCHES.labels(self.channel).inc(sum(w.new for w in written))
        metrics.BATCH_MESSAGES.labels(self.channel).inc(sum(w.messages for w in written if w.new))
        return True

    async def _finish_writes(self) -> None:
        if not self._writes:
            return
        _, late = await asyncio.wait(self._writes, timeout=self.settings.write_timeout)
        if late:
            log.error(
                "[%s] a chat batch write is still running %.0f s into the stop; stopping anyway",
                self.channel,
                self.settings.write_timeout,
            )

    async def merge_once(self) -> int:
        began = time.monotonic()  # for the duration metric: real seconds, whatever the clock
        try:
            merges = await asyncio.to_thread(self.store.merge_duplicates, self.channel)
        except OSError as err:
            log.error("[%s] chat merge failed: %s", self.channel, err)
            return 0
        metrics.MERGE_SECONDS.labels(self.channel).observe(time.monotonic() - began)
        if merges:
            metrics.MERGES.labels(self.channel).inc(merges)
            log.info("[%s] merged %d chat batch times", self.channel, merges)
        return merges

    async def _merge_loop(self) -> None:
        while True:
            await self.clock.sleep(self.settings.merge_interval)
            await self.merge_once()


class ChatArchiver:
    """Every channel's archiver, started and stopped together."""

    def __init__(
        self, base_dir: str, channels: Iterable[str], settings: ChatSettings, clock: Clock
    ) -> None:
        store = ChatStore(base_dir)
        self.emotes = None
        if settings.emotes_url:
            self.emotes = EmoteFetcher(base_dir, clock, settings.emotes_url)
        self.channels = {
            c.lower(): ChannelArchiver(c, store, settings, clock, self.emotes) for c in channels
        }

    def start(self) -> None:
        if self.emotes is not None:
            self.emotes.start()
        for archiver in self.channels.values():
            archiver.start()

    async def stop(self) -> None:
        await asyncio.gather(*(a.stop() for a in self.channels.values()))
        if self.emotes is not None:
            await self.emotes.stop()

    async def merge_once(self) -> int:
        return sum(await asyncio.gather(*(a.merge_once() for a in self.channels.values())))

    async def wait_joined(self) -> None:
        await asyncio.gather(*(a.joined.wait() for a in self.channels.values()))
