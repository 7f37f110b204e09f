"""The coverage component: scan passes on an interval, maps written after each changing pass.

Maps land in ``BASE/coverage-maps/CHANNEL_QUALITY_coverage.png`` and ``..._coverage.html``,
each written atomically. The HTML page names each configured node and shows its map from
``NODE_URL/segments/coverage-maps/CHANNEL_QUALITY_coverage.png`` (where wubloader and
streamvault restreamers serve that directory; the page falls back to ``NODE_URL/coverage-maps/``
for streamvault nodes from before that path).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..store.disk import SegmentStore, atomic_write
from .maps import MAPS_DIR, Node, html_name, pixel_map, png_name, render_html, render_png
from .scan import CoverageScanner, VariantPass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one pass did: per variant, and how long it took (seconds)."""

    variants: tuple[VariantPass, ...]
    maps_written: tuple[str, ...]
    seconds: float

    @property
    def hours_listed(self) -> int:
        return sum(len(v.listed) for v in self.variants)


class CoverageService:
    def __init__(
        self,
        store: SegmentStore,
        scanner: CoverageScanner,
        nodes: Sequence[Node] = (),
        clock: Clock | None = None,
        interval: float = 60.0,
        table_hours: int = 24,
    ) -> None:
        self.store = store
        self.scanner = scanner
        self.nodes = list(nodes)
        self.clock = clock or SystemClock()
        self.interval = interval
        self.table_hours = table_hours
        self.maps_dir = os.path.join(store.base_dir, MAPS_DIR)
        self.passes = 0

    def run_pass(self) -> PassReport:
        """Scan every variant once, then redraw the maps of those that changed."""
        began = time.perf_counter()  # how long the pass took: real seconds, whatever the clock
        variants = self.scanner.scan()
        written: list[str] = []
        for variant in variants:
            if variant.changed or self.passes == 0:
                written.extend(self.write_maps(variant.channel, variant.quality))
        report = PassReport(tuple(variants), tuple(written), time.perf_counter() - began)
        self.passes += 1
        log.log(
            logging.INFO if self.passes == 1 else logging.DEBUG,  # the first pass, then quietly
            "coverage pass %d: %d variants, %d hour directories listed, %d maps written in %.3f s",
            self.passes,
            len(variants),
            report.hours_listed,
            len(written),
            report.seconds,
        )
        return report

    def write_maps(self, channel: str, quality: str) -> list[str]:
        """Write the PNG (when any hour has data) and the HTML page; returns the paths."""
        hours = self.scanner.results(channel, quality)
        written = []
        pixels = pixel_map(hours)
        if pixels is not None:
            path = os.path.join(self.maps_dir, png_name(channel, quality))
            atomic_write(path, render_png(pixels))
            written.append(path)
        page = render_html(
            channel,
            quality,
            self.nodes,
            self.clock.now(),
            refresh_seconds=max(10, int(self.interval)),
            recent=[h for h in reversed(hours[-self.table_hours :])] if self.table_hours else (),
        )
        path = os.path.join(self.maps_dir, html_name(channel, quality))
        atomic_write(path, page)
        written.append(path)
        log.debug("coverage %s/%s: maps written", channel, quality)
        return written

    async def run(self, once: bool = False, stop: asyncio.Event | None = None) -> None:
        """Pass after pass, ``interval`` seconds apart (by the clock), until ``stop`` is set."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_pass)
            except Exception:
                if once:
                    raise
                log.exception("coverage pass failed; retrying in %s s", self.interval)
            if once:
                return
            await self.clock.wait(stop, self.interval)
