"""Small helpers shared by test packages."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_held: list[socket.socket] = []


def closed_port() -> int:
    """A loopback port where nothing listens: it stays bound (never listening) for the rest of
    the run, so a connection is refused and no other server can take it meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _held.append(sock)
    port: int = sock.getsockname()[1]
    return port


#: How long a condition may take on a loaded 2-core CI machine before a test gives up: far
#: beyond what any of them needs, so reaching it means the condition will not come.
PATIENCE = 60.0


async def polled(
    check: Callable[[], bool | Awaitable[bool]], seconds: float = PATIENCE, interval: float = 0.02
) -> bool:
    """Whether ``check()`` (a function or a coroutine function) came true within ``seconds``,
    asked every ``interval``. For state another process changes (its files, its metrics), of
    which no event in this process can tell."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)


async def eventually(
    check: Callable[[], bool],
    what: str | Callable[[], str] = "the condition",
    seconds: float = PATIENCE,
) -> None:
    """Wait until ``check()`` is true (it is asked every 20 ms); fail saying ``what`` was
    awaited, and (when ``what`` is a function) what it says now, after ``seconds``."""
    if not await polled(check, seconds):
        raise AssertionError(
            f"not reached in {seconds:.0f} s: {what if isinstance(what, str) else what()}"
        )


@contextlib.contextmanager
def mounted_tmpfs(size: str, skip_reason: str) -> Iterator[Path]:
    """A small real filesystem that fills up; skips the test where root may not mount one."""
    mount_point = Path(tempfile.mkdtemp(prefix="sv-tmpfs-"))
    mounted = os.geteuid() == 0 and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
            capture_output=True,
        ).returncode
        == 0
    )
    if not mounted:
        os.rmdir(mount_point)
        pytest.skip(skip_reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
        os.rmdir(mount_point)


def tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(send queue, receive queue) in bytes of this machine's IPv4 TCP socket from
    ``local_port`` to ``remote_port`` on loopback (Linux's /proc/net/tcp); None when there is
    none. What another process has read of a connection, or could not send yet, shows here."""
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote = (int(field.rsplit(":", 1)[1], 16) for field in fields[1:3])
            if (local, remote) == (local_port, remote_port):
                send, receive = (int(n, 16) for n in fields[4].split(":"))
                return send, receive
    return None


#: The log lines in which a command started with port 0 names the port it bound (each is
#: written once the socket listens).
RESTREAMER_PORT = rb"restreamer serving .* on 127\.0\.0\.1:(\d+)"
NODE_PORT = rb"node up: restreamer on http://127\.0\.0\.1:(\d+)"
METRICS_PORT = rb"metrics on [\d.]+:(\d+)/metrics"


@dataclass
class Child:
    """A ``streamvault`` command (or another server) in its own process, started with port 0
    so no other test can take its port first: :meth:`port` reads the port from its log. Its
    output (stdout and stderr) is read as it comes, since a full pipe would stall it, and kept
    in :attr:`lines`."""

    process: asyncio.subprocess.Process
    lines: list[bytes] = field(default_factory=list)
    _news: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        *args: str,
        prefix: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> Child:
        """``streamvault ARGS...`` (after ``prefix``, such as ``setpriv ...``)."""
        argv = [*prefix, sys.executable, "-m", "streamvault", *args]
        return await cls.spawn(argv, env=env, preexec_fn=preexec_fn)

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> Child:
        """Any program (a test's own server, such as moto's)."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, preexec_fn=preexec_fn,
        )  # fmt: skip
        child = cls(process)
        child._reader = asyncio.create_task(child._read())
        return child

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line)
            self._news.set()
        self._news.set()

    def output(self) -> str:
        return b"".join(self.lines).decode(errors="replace")

    async def port(self, pattern: bytes, seconds: float = PATIENCE) -> int:
        """The port in the first line matching ``pattern`` (its group 1), once it is written."""
        return int((await self.said(pattern, seconds))[1])

    async def said(self, pattern: bytes, seconds: float = PATIENCE) -> re.Match[bytes]:
        """The first line matching ``pattern``, waited for (the child exiting without it, or
        ``seconds`` passing, fails the test with what it did say)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            self._news.clear()  # before looking: a line read meanwhile sets it again
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found
            assert self._reader is not None
            if self._reader.done():
                raise AssertionError(f"exited without {pattern!r}:\n{self.output()[-3000:]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), max(0.0, deadline - loop.time()))
            if loop.time() >= deadline:
                raise AssertionError(f"no {pattern!r} in {seconds:.0f} s:\n{self.output()[-3000:]}")

    async def stop(self, sig: signal.Signals = signal.SIGTERM, seconds: float = PATIENCE) -> int:
        """Send ``sig`` and wait for the exit (killed past ``seconds``); the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), seconds)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await self._reader
        assert self.process.returncode is not None
        return self.process.returncode


async def read_file(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, read in a worker thread (an async test shares its loop with servers)."""
    return await asyncio.to_thread(Path(path).read_bytes)


async def write_file(path: str | os.PathLike[str], data: bytes = b"") -> None:
    """Write (create or replace) a file in a worker thread; empty by default."""
    await asyncio.to_thread(Path(path).write_bytes, data)
