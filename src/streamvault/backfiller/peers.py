"""Peer discovery (SPEC §8): ``--node URL``, ``--node-file FILE``, ``--node-dns NAME``.

The parsing and the self-exclusion are pure functions; :class:`PeerDiscovery` is the thin
shell that reads the node file and resolves DNS A records on every :meth:`~PeerDiscovery.refresh`,
keeping the last good answer of a source that fails.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: The port a ``--node-dns`` peer is reached on when the name carries none (wubloader's).
DEFAULT_DNS_PORT = 8000


@dataclass(frozen=True, slots=True)
class Peer:
    """A restreamer to copy from: a name (for logs and metrics) and its base URL."""

    name: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def shown_url(self) -> str:
        """The URL as logs, errors and metrics show it: without credentials."""
        return redact_url(self.url)


def redact_url(url: str) -> str:
    """``http://user:secret@node1:8000`` -> ``http://node1:8000`` (userinfo never shown)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def normalize_url(text: str) -> str:
    """``node1:8000`` -> ``http://node1:8000``; no trailing slash."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    return text.rstrip("/")


def peer_from_url(text: str, name: str | None = None) -> Peer:
    url = normalize_url(text)
    return Peer(name or redact_url(url), url)


def parse_node_file(text: str) -> list[Peer]:
    """Lines ``NAME URL`` or ``URL``; blank lines and ``#`` comments are ignored."""
    peers: list[Peer] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) == 1:
            peers.append(peer_from_url(fields[0]))
        else:
            peers.append(peer_from_url(fields[1], fields[0]))
    return peers


def split_dns_name(text: str) -> tuple[str, int]:
    """``NAME`` or ``NAME:PORT`` -> (name, port)."""
    name, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return text, DEFAULT_DNS_PORT


def peers_from_addresses(addresses: Iterable[str], port: int) -> list[Peer]:
    return [Peer(address, f"http://{address}:{port}") for address in sorted(set(addresses))]


def exclude_self(
    peers: Iterable[Peer], localhost: str | None, own_addresses: Iterable[str] = ()
) -> list[Peer]:
    """Peers without this node and without duplicate URLs, in order.

    A peer is this node when its name is ``localhost``, its URL is ``localhost`` as a URL, or
    (for a bare host name without a port) its host is ``localhost`` or one of ``own_addresses``
    (what ``localhost`` resolves to, so a DNS-discovered peer list leaves this pod out).
    """
    names: set[str] = set()
    urls: set[str] = set()
    hosts = {a for a in own_addresses if a}
    if localhost:
        names.add(localhost)
        urls.add(normalize_url(localhost))
        if ":" not in localhost and "/" not in localhost:
            hosts.add(localhost)
    result: list[Peer] = []
    seen: set[str] = set()
    for peer in peers:
        if peer.url in seen or peer.name in names or peer.url in urls or peer.host in hosts:
            continue
        seen.add(peer.url)
        result.append(peer)
    return result


class PeerDiscovery:
    """Collects the peers from every configured source; call :meth:`refresh` periodically."""

    def __init__(
        self,
        urls: Sequence[str] = (),
        node_file: str | None = None,
        dns_name: str | None = None,
        localhost: str | None = None,
    ) -> None:
        self.static = [peer_from_url(url) for url in urls]
        self.node_file = node_file
        self.dns_name = dns_name
        self.localhost = localhost
        self._file_peers: list[Peer] = []
        self._dns_peers: list[Peer] = []
        self.peers: list[Peer] = exclude_self(self.static, localhost)

    async def refresh(self) -> list[Peer]:
        if self.node_file is not None:
            await self._read_file(self.node_file)
        own: list[str] = []
        if self.dns_name is not None:
            await self._resolve_dns(self.dns_name)
            if self.localhost:
                own = await _resolve(self.localhost, DEFAULT_DNS_PORT, quiet=True)
        peers = exclude_self(
            [*self.static, *self._file_peers, *self._dns_peers], self.localhost, own
        )
        if [p.url for p in peers] != [p.url for p in self.peers]:
            log.info("peers: %s", ", ".join(f"{p.name}={p.shown_url}" for p in peers) or "none")
        self.peers = peers
        return peers

    async def _read_file(self, path: str) -> None:
        try:
            text = await asyncio.to_thread(_read_text, path)
        except OSError as err:
            log.warning(
                "could not read node file %s (keeping %d peers): %s",
                path,
                len(self._file_peers),
                err,
            )
            return
        self._file_peers = parse_node_file(text)

    async def _resolve_dns(self, text: str) -> None:
        name, port = split_dns_name(text)
        addresses = await _resolve(name, port)
        if addresses:
            self._dns_peers = peers_from_addresses(addresses, port)
        else:
            log.warning("no A records for %s (keeping %d peers)", name, len(self._dns_peers))


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


async def _resolve(name: str, port: int, quiet: bool = False) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(name, port, family=socket.AF_INET, type=socket.SOCK_STREAM)
    except OSError as err:
        if not quiet:
            log.warning("could not resolve %s: %s", name, err)
        return []
    return sorted({str(info[4][0]) for info in infos})
