"""``--metrics-port`` listens on 127.0.0.1 unless ``--metrics-host`` says otherwise."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.helpers import METRICS_PORT, Child


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
async def test_standalone_metrics_port_binds_loopback_by_default(
    tmp_path: Path, flags: list[str], expected: str
) -> None:
    child = await Child.start(
        "coverage", "--base-dir", str(tmp_path), "--interval", "3600", "--metrics-port", "0",
        *flags,
    )  # fmt: skip
    try:
        port = await child.port(METRICS_PORT)  # logged once it listens
        assert listening_addresses(port) == {expected}
        metrics = f"http://127.0.0.1:{port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(metrics) as answer:
            assert b"streamvault_build_info" in await answer.read()
    finally:
        await child.stop()
