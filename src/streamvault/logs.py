"""Logging set-up: one line per event, with channel and quality in the message."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format=FORMAT, force=True)
    # aiohttp logs every request at INFO; an archive logs events, not traffic.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class StreamLogger(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every message with ``channel/quality``: ``desertbus/source: stream down``."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        return f"{self.extra['context'] if self.extra else ''}: {msg}", kwargs


def stream_logger(logger: logging.Logger, channel: str, quality: str | None = None) -> StreamLogger:
    context = channel if quality is None else f"{channel}/{quality}"
    return StreamLogger(logger, {"context": context})
