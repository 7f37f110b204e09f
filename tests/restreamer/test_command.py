"""``streamvault restream`` serves a store on the port it is given."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

from tests.helpers import PATIENCE, tcp_queues

from .conftest import Archive


def start_restreamer(base: str) -> tuple[subprocess.Popen[bytes], str]:
    """`streamvault restream --port 0` in its own process, and the URL its log line names
    (the socket listens before that line is written)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "restream", "--base-dir", base,
         "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = b""
    while line := proc.stdout.readline():  # ends when the process does
        seen += line
        if found := re.search(rb"restreamer serving .* on 127\.0\.0\.1:(\d+)", line.strip()):
            return proc, f"http://127.0.0.1:{int(found.group(1))}"
    proc.kill()
    raise AssertionError(f"the restreamer did not say where it listens:\n{seen.decode()}")


def server_has_read(server_port: int, client: socket.socket) -> bool:
    """Whether the server process has read all a connection sent it."""
    queues = tcp_queues(server_port, client.getsockname()[1])
    return queues is not None and queues[1] == 0


def wait_until(check: Callable[[], bool], what: str, seconds: float = PATIENCE) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not reached in {seconds:.0f} s: {what}"
        time.sleep(0.02)


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
            wait_until(lambda: server_has_read(port, peer), "the restreamer reading the poll")
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=30)[0].decode()
            stopped_after = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert stopped_after < 15, f"stop waited {stopped_after:.1f} s for the long-poll"
