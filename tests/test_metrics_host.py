"""``--metrics-port`` listens on 127.0.0.1 unless ``--metrics-host`` says otherwise."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp shows them) listening on ``port``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            found.add(address)
    return found


@pytest.mark.parametrize(
    ("flags", "expected"), [([], "0100007F"), (["--metrics-host", "0.0.0.0"], "00000000")]
)
def test_standalone_metrics_port_binds_loopback_by_default(
    tmp_path: Path, flags: list[str], expected: str
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "coverage", "--base-dir", str(tmp_path),
         "--interval", "3600", "--metrics-port", str(port), *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not listening_addresses(port):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert listening_addresses(port) == {expected}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            assert b"streamvault_build_info" in answer.read()
    finally:
        process.terminate()
        process.wait(timeout=20)
