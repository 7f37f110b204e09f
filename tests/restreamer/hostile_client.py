"""A hostile client, and a ``streamvault restream`` process for it to be hostile to (loopback
only; every wait is bounded)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence

from tests.helpers import RESTREAMER_PORT, Child


def _common_fd_limit() -> None:
    """In the child: the soft open-file limit most systems start a service with."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


async def start_restreamer(
    base_dir: str,
    *flags: str,
    prefix: Sequence[str] = (),
    preexec: Callable[[], None] | None = None,
) -> tuple[str, Child]:
    """``streamvault restream --port 0`` with the common 1,024-descriptor limit, and the URL
    its log names once it listens."""
    child = await Child.start(
        "restream", "--base-dir", base_dir, "--host", "127.0.0.1", "--port", "0", *flags,
        prefix=prefix, preexec_fn=preexec or _common_fd_limit,
    )  # fmt: skip
    try:
        return f"http://127.0.0.1:{await child.port(RESTREAMER_PORT)}", child
    except BaseException:
        await child.stop(signal.SIGKILL)
        raise


@contextlib.asynccontextmanager
async def restreamer(
    base_dir: str,
    *flags: str,
    prefix: Sequence[str] = (),
    preexec: Callable[[], None] | None = None,
) -> AsyncIterator[tuple[str, Child]]:
    """:func:`start_restreamer`, stopped (SIGTERM, then killed) at the end; the caller may
    stop it earlier and read its output."""
    url, child = await start_restreamer(base_dir, *flags, prefix=prefix, preexec=preexec)
    try:
        yield url, child
    finally:
        await child.stop()


class Trickler:
    """A connection that sends a request head one byte at a time and never finishes it."""

    HEAD = b"GET /files HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sent = 0
        self.closed_by_server = asyncio.Event()
        self.answer = b""

    @classmethod
    async def open(cls, port: int) -> Trickler:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def trickle(self, interval: float) -> None:
        """Send a byte every ``interval`` seconds until the server hangs up."""
        reading = asyncio.ensure_future(self.reader.read(4096))
        try:
            while self.sent < len(self.HEAD):
                try:
                    self.writer.write(self.HEAD[self.sent : self.sent + 1])
                    await self.writer.drain()
                except ConnectionError:
                    break
                self.sent += 1
                done, _ = await asyncio.wait({reading}, timeout=interval)
                if done:
                    break
            with contextlib.suppress(ConnectionError):
                self.answer = await reading
        finally:
            reading.cancel()
            self.closed_by_server.set()
            self.writer.close()

    def close(self) -> None:
        self.writer.close()


def raise_own_fd_limit(at_least: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < at_least:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(at_least, soft)), hard))


SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")


async def run_schemathesis(url: str, cwd: str, *flags: str) -> tuple[int, str]:
    """schemathesis with every check over ``url``/openapi.json; (exit status, its report)."""
    proc = await asyncio.create_subprocess_exec(
        SCHEMATHESIS, "run", url.rstrip("/") + "/openapi.json",
        "--checks", "all",
        # A schema cannot say "end after start" or "a real calendar date": such requests are
        # rightly refused with 400, which this check would count as a failure.
        "--exclude-checks", "positive_data_acceptance",
        "--generation-database", "none",
        *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, output.decode(errors="replace")
