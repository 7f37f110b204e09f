"""The README's first command, end to end: `streamvault demo --duration S`."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_heals_both_nodes_and_exits_0(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "streamvault", "demo", "--duration", "24", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "OK: both nodes hold identical, complete archives" in out
    for needle in ("watch live:", "/playlist/demo.m3u8", "cut a clip:", "coverage maps:"):
        assert needle in out
    # The two stores really are identical on disk.
    a = sorted(p.relative_to(data / "node-a") for p in (data / "node-a").rglob("*.ts"))
    b = sorted(p.relative_to(data / "node-b") for p in (data / "node-b").rglob("*.ts"))
    assert a == b and len(a) > 10


def test_demo_refuses_a_non_empty_data_dir(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "streamvault", "demo", "--duration", "20", "--data-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "not empty" in result.stdout + result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return [int(text) for text in file.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_sigterm_stops_the_demo_and_its_nodes(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "demo", "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # both nodes answer once the URLs are printed
            if line.startswith("watch live:"):
                break
        nodes = children(demo.pid)
        assert len(nodes) == 2
        demo.send_signal(signal.SIGTERM)
        rest = demo.communicate(timeout=90)[0]
        assert demo.returncode == 143, rest
        assert "demo stopped" in rest
        assert not [pid for pid in nodes if alive(pid)]  # no orphans left running
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
