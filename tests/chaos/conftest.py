"""Fixtures of the chaos campaign: network namespaces and a small tmpfs, always cleaned up.

Under CI (root, on this kind of machine) they must work: a failure to make them fails the
test, it never skips it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netns import Network, create_network, destroy_network


@pytest.fixture
def chaos_network() -> Iterator[Network]:
    if os.geteuid() != 0:
        pytest.fail("the chaos campaign needs root to make network namespaces")
    network = create_network(("a", "b", "c"))  # NetworkError fails the test
    try:
        yield network
    finally:
        destroy_network(network)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[str]:
    """A 48 MB tmpfs: a node's base directory whose disk can fill up."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs", str(mount)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    try:
        yield str(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)
