"""Supervision of the components a node runs in one process (downloader, backfiller, coverage).

A component is a coroutine that runs until cancelled. If it raises anything else (or returns),
that is our bug or something nobody foresaw: the failure is logged once at ERROR with its
traceback, counted in ``streamvault_component_restarts_total{component}``, and the component
is started again after a growing, jittered back-off (reset once it has run a good while).
``streamvault_component_up{component}`` is 1 while it runs and 0 while it waits to restart,
so an alert sees a component that keeps dying even though the node still answers.

:class:`RestartBackoff` is the pure decision (how long to wait); :func:`supervise` the shell.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge

from ..backoff import Backoff
from ..clock import Clock

log = logging.getLogger(__name__)

COMPONENT_UP = Gauge(
    "streamvault_component_up",
    "1 while a node's component runs, 0 while it waits to be restarted after a failure",
    ["component"],
)
COMPONENT_RESTARTS = Counter(
    "streamvault_component_restarts_total",
    "Times a node's component failed unexpectedly and was restarted",
    ["component"],
)


@dataclass(slots=True)
class RestartBackoff:
    """Seconds to wait before restart number ``failures``: ``base`` doubling up to ``cap``,
    jittered to between half and all of it; a component that ran for ``reset_after``
    seconds before failing starts again from ``base``."""

    base: float = 1.0
    cap: float = 300.0
    reset_after: float = 600.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def failed(self, ran_for: float) -> float:
        if ran_for >= self.reset_after:
            self.failures = 0
        self.failures += 1
        return Backoff(self.base, self.cap, jitter=(0.5, 1.0)).delay(
            self.failures, self.rng.uniform
        )


async def supervise(
    component: str,
    run: Callable[[], Coroutine[Any, Any, object]],
    clock: Clock,
    backoff: RestartBackoff | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run ``run()`` until cancelled (or until it returns once ``stop`` is set), restarting
    it whenever it fails or returns early."""
    backoff = backoff or RestartBackoff()
    up = COMPONENT_UP.labels(component)
    restarts = COMPONENT_RESTARTS.labels(component)
    try:
        while True:
            started = clock.monotonic()
            up.set(1)
            try:
                await run()
            except Exception:
                delay = backoff.failed(clock.monotonic() - started)
                log.exception("component %s failed; restarting in %.1f s", component, delay)
            else:
                if stop is not None and stop.is_set():
                    return
                delay = backoff.failed(clock.monotonic() - started)
                log.error("component %s stopped by itself; restarting in %.1f s", component, delay)
            up.set(0)
            restarts.inc()
            await clock.sleep(delay)
    finally:
        up.set(0)


def start_supervised(
    component: str,
    run: Callable[[], Coroutine[Any, Any, object]],
    clock: Clock,
    stop: asyncio.Event | None = None,
) -> asyncio.Task[None]:
    """:func:`supervise` as a task named after the component."""
    return asyncio.create_task(
        supervise(component, run, clock, stop=stop), name=f"component {component}"
    )
