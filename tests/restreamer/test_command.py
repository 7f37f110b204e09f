"""``streamvault restream`` serves a store on the port it is given."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from .conftest import Archive


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_restream_command_serves_the_store(archive: Archive) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "restream", "--base-dir", archive.base,
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/files", timeout=2) as answer:
                    assert json.load(answer) == ["holes", "test"]
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("the restreamer did not answer")
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, output
