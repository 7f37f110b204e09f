"""The README's first command, end to end: `streamvault demo --duration S`."""

from __future__ import annotations

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
