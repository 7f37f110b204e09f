"""Serving the restreamer on a socket, with connection hygiene (SPEC §5, §11).

- **Deadlines.** A connection must send a complete request head within ``idle_timeout``
  seconds of connecting or of its last answer, or it is closed: that one deadline bounds both
  trickled request headers (slowloris) and idle keep-alive connections. aiohttp's keep-alive
  timer does exactly this (from 3.14.5 also for a connection's first request), so it is
  configured rather than rewritten; answers being sent and long-polls are not idle.
- **A cap.** At most ``max_connections`` connections are served at once; one more is answered
  ``503`` at once and closed, so descriptors never run out and a flood is refused quickly
  instead of queueing.
- **Descriptors.** :func:`raise_fd_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit at
  start-up (the usual soft 1,024 is what a few hundred slow clients exhaust).
- **Malformed requests** are one INFO line each, not an ERROR with a traceback: anyone can send
  them, and they say nothing about this server.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT = 20.0  # above aiohttp clients' own 15 s keep-alive: they hang up first
DEFAULT_MAX_CONNECTIONS = 4096
#: Descriptors kept free of client connections (store files, peers, ffmpeg pipes).
FD_RESERVE = 256
SHUTDOWN_TIMEOUT = 3.0  # peers hold change-feed long-polls open; do not wait them out

OPEN = Gauge("streamvault_restreamer_connections", "Client connections open to the restreamer")
REFUSED = Counter(
    "streamvault_restreamer_connections_refused_total",
    "Client connections refused (503) because the restreamer already served its maximum",
)

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections; try again\n"
)


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int | None = None  # None: DEFAULT_MAX_CONNECTIONS within the fd limit


def raise_fd_limit() -> int:
    """Lift the soft descriptor limit to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft if soft != resource.RLIM_INFINITY else 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as err:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, wanted, err)
        return soft
    return wanted


def connection_cap(settings: ConnectionSettings, fd_limit: int) -> int:
    if settings.max_connections is not None:
        return max(1, settings.max_connections)
    return max(16, min(DEFAULT_MAX_CONNECTIONS, fd_limit - FD_RESERVE))


class _Busy(asyncio.Protocol):
    """Answers 503 and hangs up: what a connection past the cap gets."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class _MalformedRequests(logging.Filter):
    """aiohttp logs an unparseable request at ERROR with a traceback; make it one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = "malformed request from %s: %s", (remote, _one_line(error))
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info, record.exc_text = None, None
        return log.isEnabledFor(logging.INFO)


def _one_line(error: HttpProcessingError) -> str:
    text = error.message if isinstance(error.message, str) and error.message else str(error)
    return " ".join(text.split())[:200]


_SERVER_LOG = logging.getLogger(f"{__name__}.http")
_SERVER_LOG.addFilter(_MalformedRequests())


class Listener:
    """The restreamer ``app`` served on ``host:port`` (0: any free port) until :meth:`stop`."""

    def __init__(
        self, app: web.Application, host: str, port: int, settings: ConnectionSettings
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.settings = settings
        self.cap = 0
        self._runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            keepalive_timeout=settings.idle_timeout,
            logger=_SERVER_LOG,
        )
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self.cap = connection_cap(self.settings, raise_fd_limit())
        await self._runner.setup()
        handlers = self._runner.server
        assert handlers is not None
        cap = self.cap

        def protocol() -> asyncio.BaseProtocol:
            if len(handlers.connections) >= cap:
                REFUSED.inc()
                return _Busy()
            return handlers()

        OPEN.set_function(lambda: len(handlers.connections))
        self._server = await asyncio.get_running_loop().create_server(
            protocol, self.host or None, self.port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._runner.cleanup()
