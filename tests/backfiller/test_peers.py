"""Peer discovery: flags, node file, DNS A records, self-exclusion, refresh."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from streamvault.backfiller.peers import (
    Peer,
    PeerDiscovery,
    exclude_self,
    parse_node_file,
    peer_from_url,
    split_dns_name,
)


def test_node_file_lines_and_comments() -> None:
    text = """
    # the cluster
    alpha http://alpha.example:8000/
    beta.example:8000        # a bare URL
       gamma   https://gamma.example  extra-field-ignored

    """
    assert parse_node_file(text) == [
        Peer("alpha", "http://alpha.example:8000"),
        Peer("http://beta.example:8000", "http://beta.example:8000"),
        Peer("gamma", "https://gamma.example"),
    ]


@pytest.mark.parametrize(
    ("localhost", "expected"),
    [
        (None, ["alpha", "http://beta:8000", "http://10.0.0.3:8000"]),
        ("alpha", ["http://beta:8000", "http://10.0.0.3:8000"]),  # by name
        ("http://beta:8000", ["alpha", "http://10.0.0.3:8000"]),  # by URL
        ("beta:8000", ["alpha", "http://10.0.0.3:8000"]),  # by URL without scheme
        ("beta", ["alpha", "http://10.0.0.3:8000"]),  # by bare host
    ],
)
def test_itself_is_excluded(localhost: str | None, expected: list[str]) -> None:
    peers = [
        Peer("alpha", "http://alpha:8000"),
        peer_from_url("beta:8000"),
        peer_from_url("http://10.0.0.3:8000"),
        Peer("alpha-again", "http://alpha:8000"),  # a duplicate URL is dropped
    ]
    assert [p.name for p in exclude_self(peers, localhost)] == expected


def test_own_addresses_are_excluded() -> None:
    peers = [Peer("10.0.0.1", "http://10.0.0.1:8000"), Peer("10.0.0.2", "http://10.0.0.2:8000")]
    assert exclude_self(peers, "pod-1", ["10.0.0.2"]) == peers[:1]


def test_split_dns_name() -> None:
    assert split_dns_name("backfill.svc") == ("backfill.svc", 8000)
    assert split_dns_name("backfill.svc:9000") == ("backfill.svc", 9000)


async def test_discovery_from_all_sources_and_refresh(tmp_path: Path) -> None:
    node_file = tmp_path / "nodes"
    node_file.write_text("me http://127.0.0.1:1001\nother http://127.0.0.1:1002\n")
    discovery = PeerDiscovery(
        ["http://127.0.0.1:1003"], str(node_file), "localhost:1004", localhost="me"
    )
    peers = await discovery.refresh()
    assert [p.url for p in peers] == [
        "http://127.0.0.1:1003",
        "http://127.0.0.1:1002",
        "http://127.0.0.1:1004",  # the A record of "localhost"
    ]
    # the file changes: a refresh picks it up
    node_file.write_text("other http://127.0.0.1:1002\nnew http://127.0.0.1:1005\n")
    assert "http://127.0.0.1:1005" in [p.url for p in await discovery.refresh()]
    # the file disappears: the last good list is kept
    node_file.unlink()
    assert "http://127.0.0.1:1005" in [p.url for p in await discovery.refresh()]


async def test_dns_a_records_and_failure_keeps_the_last_peers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = {"peers.svc": ["10.0.0.7", "10.0.0.5", "10.0.0.9"], "pod-9": ["10.0.0.9"]}

    async def getaddrinfo(host: str, port: int, **kwargs: object) -> list[tuple[object, ...]]:
        if host not in records:
            raise socket.gaierror(socket.EAI_NONAME, "no such host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in records[host]]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    discovery = PeerDiscovery(dns_name="peers.svc:9000", localhost="pod-9")
    assert [p.url for p in await discovery.refresh()] == [
        "http://10.0.0.5:9000",
        "http://10.0.0.7:9000",
    ]
    records.pop("peers.svc")  # DNS trouble: keep what we had
    assert len(await discovery.refresh()) == 2
