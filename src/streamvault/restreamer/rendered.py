"""Cuts that browsers open (``mp4``, ``webm``), rendered to files and kept a while (SPEC §5).

A browser file must be complete to be seekable: a ``Content-Length``, byte ranges, the true
duration in the container, the mp4 index first. So it is rendered to a file first and then
served as one; and because a browser seeks with a new range request each time, the file is
kept for the next request of the same cut rather than rendered again.

Bounds: at most :data:`RENDERS` renders at once; the kept files are at most ``max_bytes`` and
``max_files`` (the least recently used go first, never one being served); all of them live in
one temporary directory removed when the restreamer stops. A render nobody waits for any more
(every client went away) is cancelled, which kills its ffmpeg.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass

#: Renders running at once (each is an ffmpeg encoding as fast as it can).
RENDERS = 2
MAX_BYTES = 2 * 1024**3
MAX_FILES = 64

Render = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class _Entry:
    path: str
    task: asyncio.Task[None]
    size: int = 0
    users: int = 0

    @property
    def failed(self) -> bool:
        return self.task.done() and (self.task.cancelled() or self.task.exception() is not None)


class RenderedCuts:
    def __init__(self, max_bytes: int = MAX_BYTES, max_files: int = MAX_FILES) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.renders = 0  # renders started, for tests and the curious
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._slots = asyncio.Semaphore(RENDERS)
        self._dir: str | None = None

    def _directory(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="streamvault-rendered-")
        return self._dir

    @contextlib.asynccontextmanager
    async def lease(
        self, key: Hashable, render: Render, suffix: str, gone: Callable[[], bool]
    ) -> AsyncIterator[str]:
        """The path of the rendered file of ``key`` while the caller serves it.

        ``render(path)`` writes the file if it is not kept already. ``gone()`` says whether
        the caller's client went away; polled while the render runs.
        """
        entry = self._entries.get(key)
        if entry is None or entry.failed:
            entry = self._start(key, render, suffix)
        self._entries.move_to_end(key)
        entry.users += 1
        try:
            await self._wait(entry, gone)
            yield entry.path
        finally:
            entry.users -= 1
            if entry.users == 0 and not entry.task.done():
                entry.task.cancel()  # nobody wants it any more: ffmpeg is killed
                self._drop(key, entry)
            elif entry.users == 0 and entry.failed:
                self._drop(key, entry)
            self._trim()

    def _start(self, key: Hashable, render: Render, suffix: str) -> _Entry:
        old = self._entries.pop(key, None)
        if old is not None:
            self._remove(old)
        fd, path = tempfile.mkstemp(suffix=suffix, dir=self._directory())
        os.close(fd)

        async def run() -> None:
            async with self._slots:
                await render(path)
            entry.size = os.stat(path).st_size

        self.renders += 1
        entry = _Entry(path, asyncio.ensure_future(run()))
        self._entries[key] = entry
        return entry

    async def _wait(self, entry: _Entry, gone: Callable[[], bool]) -> None:
        # real seconds: how often the client's socket is looked at, whatever the clock
        while not (await asyncio.wait({entry.task}, timeout=0.25))[0]:
            if gone():
                raise ConnectionResetError("client went away during a render")
        entry.task.result()  # raises what the render raised

    def _drop(self, key: Hashable, entry: _Entry) -> None:
        if self._entries.get(key) is entry:
            del self._entries[key]
        self._remove(entry)

    @staticmethod
    def _remove(entry: _Entry) -> None:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)

    def _trim(self) -> None:
        """Forget the least recently used finished files past the bounds (not those in use)."""
        for key, entry in list(self._entries.items()):
            kept = [e for e in self._entries.values() if e.task.done()]
            over = sum(e.size for e in kept) > self.max_bytes or len(kept) > self.max_files
            if not over:
                return
            if entry.users == 0 and entry.task.done():
                self._drop(key, entry)

    async def close(self) -> None:
        """Stop every render and remove every file."""
        tasks = [entry.task for entry in self._entries.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._entries.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
