"""The HTTP helpers every source and the downloader share: timed GETs with metrics by endpoint.

Timeouts are in the clock's seconds, so a test clock running 30 times faster shortens them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import zlib
from typing import Any

import aiohttp
from prometheus_client import Counter, Histogram

from ..clock import Clock
from ..errors import HTTPStatusError, TooLarge

REQUEST_SECONDS = Histogram(
    "streamvault_http_request_duration_seconds",
    "Time to a complete HTTP response, by endpoint (gql, usher, playlist, segment)",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240),
)
REQUEST_ERRORS = Counter(
    "streamvault_http_errors_total",
    "HTTP requests that failed, by endpoint and reason (status code, timeout, connection)",
    ["endpoint", "reason"],
)


#: A playlist body larger than this (after decompression) is refused (Twitch's are ~10 KB).
MAX_TEXT_BYTES = 4 << 20
READ_BUFFER = 1 << 20
#: Text is asked for compressed (we decode it ourselves, within the cap); segments never are.
TEXT_HEADERS = {"Accept-Encoding": "gzip, deflate"}
IDENTITY = {"Accept-Encoding": "identity"}


def new_session(ssl_context: ssl.SSLContext | None, fresh: bool = False) -> aiohttp.ClientSession:
    """A client session whose bodies are never decompressed behind our back.

    ``auto_decompress=False``: aiohttp would inflate a 1 MB gzip bomb into gigabytes before any
    cap could look at it; :class:`BoundedBody` inflates at most the cap. A 1 MiB read buffer:
    a segment arrives in a few large chunks instead of dozens of 64 KiB ones, each costing an
    event-loop turn, a write and a hash update. ``fresh``: no keep-alive (retries start clean).
    """
    connector = aiohttp.TCPConnector(
        limit=0, force_close=fresh, ssl=ssl_context if ssl_context is not None else True
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        read_bufsize=READ_BUFFER,
        auto_decompress=False,
    )


class BoundedBody:
    """Decodes a body chunk by chunk (identity, gzip or deflate) and refuses it past ``cap``.

    Written here rather than left to aiohttp because its decompression has no output limit;
    ``zlib``'s ``max_length`` lets us stop inflating the moment the cap is passed.
    """

    def __init__(self, encoding: str, cap: int, what: str) -> None:
        encoding = encoding.strip().lower()
        self.cap = cap
        self.what = what
        self.size = 0
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise TooLarge(f"{what}: unsupported Content-Encoding {encoding!r}")

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of ``chunk``; raises ``TooLarge`` once past the cap."""
        if self._zlib is not None:
            try:
                chunk = self._zlib.decompress(chunk, self.cap - self.size + 1)
            except zlib.error as err:
                raise TooLarge(f"{self.what}: bad compressed body: {err}") from err
            if self._zlib.unconsumed_tail:
                raise TooLarge(f"{self.what}: more than {self.cap} bytes, refused")
        self.size += len(chunk)
        if self.size > self.cap:
            raise TooLarge(f"{self.what}: more than {self.cap} bytes, refused")
        return chunk


async def read_bounded(response: aiohttp.ClientResponse, cap: int, what: str) -> bytes:
    """The whole (decoded) body, or ``TooLarge`` as soon as it passes ``cap`` bytes."""
    body = BoundedBody(response.headers.get("Content-Encoding", ""), cap, what)
    parts = []
    async for chunk, _ in response.content.iter_chunks():
        parts.append(body.feed(chunk))
    return b"".join(parts)


def error_reason(err: BaseException) -> str:
    if isinstance(err, HTTPStatusError):
        return str(err.status)
    if isinstance(err, TooLarge):
        return "too_large"
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, aiohttp.ClientPayloadError):
        return "truncated"
    if isinstance(err, aiohttp.ClientError | OSError):
        return "connection"
    return type(err).__name__


async def fetch_text(
    session: aiohttp.ClientSession,
    clock: Clock,
    url: str,
    endpoint: str,
    timeout: float,
    method: str = "GET",
    max_bytes: int = MAX_TEXT_BYTES,
    **kwargs: Any,
) -> str:
    """Fetch a text resource of at most ``max_bytes``; non-200 answers raise
    ``HTTPStatusError``, larger ones ``TooLarge``. Counted by endpoint."""
    began = time.perf_counter()  # the metric is of real seconds, whatever the clock
    kwargs["headers"] = {**TEXT_HEADERS, **kwargs.get("headers", {})}
    try:
        async with clock.timeout(timeout):
            text = await _request_text(session, method, url, max_bytes, **kwargs)
    except BaseException as err:
        if not isinstance(err, asyncio.CancelledError):
            REQUEST_ERRORS.labels(endpoint, error_reason(err)).inc()
        raise
    REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - began)
    return text


async def _request_text(
    session: aiohttp.ClientSession, method: str, url: str, max_bytes: int, **kwargs: Any
) -> str:
    async with session.request(method, url, **kwargs) as response:
        if response.status != 200:
            detail = ""
            with contextlib.suppress(aiohttp.ClientError, TooLarge, OSError):
                detail = (await read_bounded(response, 4096, "error body"))[:200].decode(
                    "utf-8", "replace"
                )
            raise HTTPStatusError(response.status, _redact(url), detail)
        body = await read_bounded(response, max_bytes, _redact(url))
        return body.decode("utf-8", "replace")


def _redact(url: str) -> str:
    """URLs carry tokens and signatures: keep them out of logs."""
    return url.split("?", 1)[0]
