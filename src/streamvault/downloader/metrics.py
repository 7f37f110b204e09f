"""Downloader metrics (SPEC §6.11); HTTP latency and errors live in ``sources.http``.

``streamvault_latest_segment`` is kept in our own dictionary and exported by a collector
callback: the metrics library's internals are never read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from threading import Lock

from prometheus_client import Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..metrics import REGISTRY
from ..timeutil import to_seconds

CHANNEL_UP = Gauge(
    "streamvault_channel_up",
    "1 while the channel's master playlist says it is live, 0 while it is down (offline or "
    "failing); important is true for channels given with '!'",
    ["channel", "important"],
)
SEGMENTS = Counter(
    "streamvault_segments_downloaded_total",
    "Segments written to the store, by type (full, suspect, partial)",
    ["channel", "quality", "type"],
)
SECONDS = Counter(
    "streamvault_segment_seconds_downloaded_total",
    "Seconds of video written to the store, by type",
    ["channel", "quality", "type"],
)
ADS = Counter(
    "streamvault_ad_segments_skipped_total",
    "Ad segments seen in media playlists and not stored",
    ["channel", "quality"],
)
SKEWS = Counter(
    "streamvault_timestamp_skews_total",
    "Program date times that jumped against previous start + duration",
    ["channel", "quality"],
)
DATERANGES = Counter(
    "streamvault_date_ranges_total",
    "EXT-X-DATERANGEs seen that do not mark ads, by CLASS (e.g. twitch-trigger); they never "
    "drop a segment",
    ["channel", "quality", "class"],
)
GAVE_UP = Counter(
    "streamvault_segments_given_up_total",
    "Segments abandoned without a file (gone: URL expired; timeout: failing past the give-up "
    "time; too_large: body past the segment byte cap)",
    ["channel", "quality", "reason"],
)


def touch(channel: str, quality: str) -> None:
    """Create every series of a (channel, quality) at zero, so dashboards see them at once."""
    for kind in ("full", "suspect", "partial"):
        SEGMENTS.labels(channel, quality, kind)
        SECONDS.labels(channel, quality, kind)
    ADS.labels(channel, quality)
    SKEWS.labels(channel, quality)
    for reason in ("gone", "timeout", "too_large"):
        GAVE_UP.labels(channel, quality, reason)


class LatestSegments(Collector):
    """Start time of the newest segment stored per (channel, quality)."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], datetime] = {}
        self._lock = Lock()

    def update(self, channel: str, quality: str, start: datetime) -> None:
        key = (channel, quality)
        with self._lock:
            if key not in self._latest or start > self._latest[key]:
                self._latest[key] = start

    def get(self, channel: str, quality: str) -> datetime | None:
        with self._lock:
            return self._latest.get((channel, quality))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "streamvault_latest_segment",
            "Start time (Unix seconds) of the newest segment stored; now minus this is the delay",
            labels=["channel", "quality"],
        )
        with self._lock:
            items = sorted(self._latest.items())
        for (channel, quality), start in items:
            family.add_metric([channel, quality], to_seconds(start))
        yield family


LATEST = LatestSegments()
REGISTRY.register(LATEST)
