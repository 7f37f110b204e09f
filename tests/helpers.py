"""Small helpers shared by test packages."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for servers in other processes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
