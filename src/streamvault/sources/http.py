"""The HTTP helpers every source and the downloader share: timed GETs with metrics by endpoint.

Timeouts are in the clock's seconds, so a test clock running 30 times faster shortens them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from prometheus_client import Counter, Histogram

from ..clock import Clock, FakeClock
from ..errors import HTTPStatusError

T = TypeVar("T")

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


def error_reason(err: BaseException) -> str:
    if isinstance(err, HTTPStatusError):
        return str(err.status)
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, aiohttp.ClientPayloadError):
        return "truncated"
    if isinstance(err, aiohttp.ClientError | OSError):
        return "connection"
    return type(err).__name__


async def within(clock: Clock, seconds: float, awaitable: Awaitable[T]) -> T:
    """Await with a timeout in the clock's time; raises ``TimeoutError``."""
    if not isinstance(clock, FakeClock):
        scale = float(getattr(clock, "scale", 1.0))
        async with asyncio.timeout(seconds / scale):
            return await awaitable
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if task.cancelled():
        raise TimeoutError(f"no answer within {seconds} s")
    return task.result()


async def fetch_text(
    session: aiohttp.ClientSession,
    clock: Clock,
    url: str,
    endpoint: str,
    timeout: float,
    method: str = "GET",
    **kwargs: Any,
) -> str:
    """Fetch a text resource; non-200 answers raise ``HTTPStatusError``. Counted by endpoint."""
    began = time.perf_counter()
    try:
        text = await within(clock, timeout, _request_text(session, method, url, **kwargs))
    except BaseException as err:
        if not isinstance(err, asyncio.CancelledError):
            REQUEST_ERRORS.labels(endpoint, error_reason(err)).inc()
        raise
    REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - began)
    return text


async def _request_text(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> str:
    async with session.request(method, url, **kwargs) as response:
        body = await response.read()
        if response.status != 200:
            detail = body[:200].decode("utf-8", "replace")
            raise HTTPStatusError(response.status, _redact(url), detail)
        return body.decode("utf-8", "replace")


def _redact(url: str) -> str:
    """URLs carry tokens and signatures: keep them out of logs."""
    return url.split("?", 1)[0]


async def wait_any(
    clock: Clock, tasks: set[asyncio.Task[Any]], seconds: float
) -> set[asyncio.Task[Any]]:
    """Wait until one of ``tasks`` is done or ``seconds`` of clock time pass; the done ones."""
    if not tasks:
        await clock.sleep(seconds)
        return set()
    if not isinstance(clock, FakeClock):
        scale = float(getattr(clock, "scale", 1.0))
        done, _ = await asyncio.wait(
            tasks, timeout=max(0.0, seconds) / scale, return_when=asyncio.FIRST_COMPLETED
        )
        return done
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        done, _ = await asyncio.wait({*tasks, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    return {task for task in done if task is not timer}
