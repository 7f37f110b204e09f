"""``streamvault restream`` serves a store on the port it is given."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from tests.helpers import free_port

from .conftest import Archive


def start_restreamer(base: str) -> tuple[subprocess.Popen[bytes], str]:
    """`streamvault restream` in its own process, once it answers `/files`."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "restream", "--base-dir", base,
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/files", timeout=2).close()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the restreamer did not answer")


def test_restream_command_serves_the_store(archive: Archive) -> None:
    proc, url = start_restreamer(archive.base)
    try:
        with urllib.request.urlopen(f"{url}/files", timeout=2) as answer:
            assert json.load(answer) == ["holes", "test"]
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, output


def test_stop_does_not_wait_out_a_peers_long_poll(archive: Archive) -> None:
    proc, url = start_restreamer(archive.base)
    try:
        with urllib.request.urlopen(f"{url}/changes/test/source", timeout=5) as answer:
            cursor = json.load(answer)["cursor"]
        # A peer following the change feed: a long-poll that would wait 60 s for news.
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as peer:
            request = f"GET /changes/test/source?cursor={cursor}&timeout=60 HTTP/1.1\r\n"
            peer.sendall(request.encode() + b"Host: x\r\n\r\n")
            time.sleep(0.5)
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=30)[0].decode()
            stopped_after = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert stopped_after < 15, f"stop waited {stopped_after:.1f} s for the long-poll"
