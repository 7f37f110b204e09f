"""Shared Prometheus metrics set-up (prometheus-client).

Every component registers its metrics on the default registry, so one ``/metrics`` page
shows all of them when several components share a process (``streamvault node``).
"""

from __future__ import annotations

import logging

import prometheus_client
from prometheus_client import CollectorRegistry, Info, generate_latest

from . import __version__

#: Prometheus text format, as SPEC §5 asks for.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

log = logging.getLogger(__name__)

REGISTRY: CollectorRegistry = prometheus_client.REGISTRY

build_info = Info("streamvault_build", "streamvault version")
build_info.info({"version": __version__})


def render(registry: CollectorRegistry | None = None) -> bytes:
    """The metrics page body in the Prometheus text format."""
    return generate_latest(registry or REGISTRY)


def start_metrics_server(port: int, host: str = "127.0.0.1") -> int:
    """Serve ``/metrics`` on its own port for a component that has no HTTP server; returns
    (and logs) the port bound, which ``port`` 0 leaves to the system."""
    server, _thread = prometheus_client.start_http_server(port, addr=host, registry=REGISTRY)
    bound: int = server.server_address[1]
    log.info("metrics on %s:%d/metrics", host, bound)
    return bound
