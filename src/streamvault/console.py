"""An interactive Python prompt inside a running process, on 127.0.0.1 only (SPEC §11).

Built from the standard library's ``code.InteractiveConsole`` over an asyncio TCP server, so
it needs no extra dependency and runs its code on the event loop thread, where the live state
can be read without locks. Connect with ``nc 127.0.0.1 PORT`` (or telnet). Code typed there
runs inside the process: keep it short, since a long computation pauses recording.
"""

from __future__ import annotations

import asyncio
import code
import contextlib
import io
import logging
from typing import Any

log = logging.getLogger(__name__)

BANNER = (
    "streamvault console. Names: {names}.\n"
    "Change the log level with set_log_level('DEBUG').\n"
    "Ctrl-D or exit() leaves; the node keeps running.\n"
)


def set_log_level(level: str, logger: str | None = None) -> str:
    """Change a logger's level live (the root logger by default)."""
    target = logging.getLogger(logger)
    target.setLevel(level.upper())
    return f"{logger or 'root'} logger level is now {logging.getLevelName(target.level)}"


class _Session(code.InteractiveConsole):
    def __init__(self, namespace: dict[str, Any]) -> None:
        super().__init__(namespace, filename="<console>")
        self.output = io.StringIO()

    def write(self, data: str) -> None:
        self.output.write(data)

    def run_line(self, line: str) -> tuple[str, bool]:
        """Run one line; returns the output and whether more input is needed."""
        with contextlib.redirect_stdout(self.output), contextlib.redirect_stderr(self.output):
            more = self.push(line)
        text = self.output.getvalue()
        self.output.seek(0)
        self.output.truncate()
        return text, more


class ConsoleServer:
    """Serves a prompt per connection; every session shares ``namespace``."""

    def __init__(self, namespace: dict[str, Any], port: int, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the console listens on the loopback interface only")
        self.namespace = {"set_log_level": set_log_level, **namespace}
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("console listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        namespace = dict(self.namespace)

        def leave() -> None:
            raise SystemExit  # InteractiveConsole lets only SystemExit through

        namespace["exit"] = namespace["quit"] = leave
        session = _Session(namespace)
        names = ", ".join(sorted(k for k in namespace if not k.startswith("_")))
        writer.write(BANNER.format(names=names).encode() + b">>> ")
        try:
            while True:
                await writer.drain()
                raw = await reader.readline()
                if not raw:
                    break
                try:
                    text, more = session.run_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
                except SystemExit:
                    break
                writer.write(text.encode() + (b"... " if more else b">>> "))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
