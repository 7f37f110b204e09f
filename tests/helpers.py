"""Small helpers shared by test packages."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
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


def free_port() -> int:
    """A port that was free a moment ago. Racy (another process may take it before the child
    binds it): a child should bind port 0 and say its port instead. Left only for the tests
    merged meanwhile that still start servers on it (tests/restreamer/hostile_client.py and
    test_store_hazards.py, tests/chat/, tests/test_metrics_host.py)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


#: How long a condition may take on a loaded 2-core CI machine before a test gives up: far
#: beyond what any of them needs, so reaching it means the condition will not come.
PATIENCE = 60.0


async def eventually(
    check: Callable[[], bool],
    what: str | Callable[[], str] = "the condition",
    seconds: float = PATIENCE,
) -> None:
    """Wait until ``check()`` is true (it is asked every 20 ms); fail saying ``what`` was
    awaited, and (when ``what`` is a function) what it says now, after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() >= deadline:
            raise AssertionError(
                f"not reached in {seconds:.0f} s: {what if isinstance(what, str) else what()}"
            )
        await asyncio.sleep(0.02)


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
