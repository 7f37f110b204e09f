"""Chat archiver metrics (documented in docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .coverage import chat_coverage
from .store import ChatStore

MESSAGES = Counter(
    "streamvault_chat_messages_total",
    "Chat messages received and kept, by IRC command",
    ["channel", "command"],
)
IGNORED = Counter(
    "streamvault_chat_messages_ignored_total",
    "Chat lines received after the channel's first ROOMSTATE whose command is not kept",
    ["channel", "command"],
)
BAD_LINES = Counter(
    "streamvault_chat_bad_lines_total",
    "Chat server lines with a problem, by kind (malformed, invalid_utf8, too_long)",
    ["channel", "kind"],
)
BATCHES = Counter(
    "streamvault_chat_batches_written_total",
    "Chat batch files written by the archiver",
    ["channel"],
)
BATCH_MESSAGES = Counter(
    "streamvault_chat_batch_messages_total",
    "Messages in the chat batch files written by the archiver",
    ["channel"],
)
MERGES = Counter(
    "streamvault_chat_merges_total",
    "Batch times whose several files were merged into one",
    ["channel"],
)
MERGE_SECONDS = Histogram(
    "streamvault_chat_merge_pass_seconds",
    "Time a merge pass over a channel's chat batches took",
    ["channel"],
)
SERVER_LAG = Gauge(
    "streamvault_chat_server_lag_seconds",
    "Local receive time minus the server's tmi-sent-ts of the newest timestamped message",
    ["channel"],
)
CONNECTIONS = Counter(
    "streamvault_chat_connections_total",
    "Chat connections that ended, by reason (closed, error, reconnect, idle, stop)",
    ["channel", "reason"],
)
CONNECTED = Gauge(
    "streamvault_chat_connected",
    "Chat connections open and joined (2 during a RECONNECT handover)",
    ["channel"],
)
OPEN_BATCHES = Gauge(
    "streamvault_chat_open_batches",
    "Chat batches holding messages not yet written",
    ["channel"],
)


class ChatCoverageCollector(Collector):
    """Chat coverage of the newest hours, measured from the batch file names at scrape time."""

    def __init__(self, store: ChatStore, channels: Iterable[str], hours: int = 48) -> None:
        self.store = store
        self.channels = list(channels)
        self.hours = hours

    def describe(self) -> Iterable[Metric]:
        return []  # families are built per scrape (several nodes may share a process)

    def collect(self) -> Iterator[Metric]:
        per_hour = GaugeMetricFamily(
            "streamvault_chat_coverage_hour_batches",
            "Chat batch minutes held per hour (60 when every minute had chat archived)",
            labels=["channel", "hour"],
        )
        gaps = GaugeMetricFamily(
            "streamvault_chat_coverage_gaps",
            "Runs of minutes without a chat batch between the first and newest batch of the "
            "hours measured",
            labels=["channel"],
        )
        gap_seconds = GaugeMetricFamily(
            "streamvault_chat_coverage_gap_seconds",
            "Seconds in those gaps",
            labels=["channel"],
        )
        unmerged = GaugeMetricFamily(
            "streamvault_chat_coverage_unmerged_files",
            "Chat batch files beyond one per minute, waiting for the next merge",
            labels=["channel"],
        )
        for channel in self.channels:
            hours = self.store.hours(channel)[-self.hours :]
            files = self.store.batch_files(channel, hours)
            coverage = chat_coverage(t for t, paths in files.items() for _ in paths)
            for hour, count in sorted(coverage.per_hour.items()):
                per_hour.add_metric([channel, hour], count)
            gaps.add_metric([channel], len(coverage.gaps))
            gap_seconds.add_metric([channel], coverage.gap_seconds)
            unmerged.add_metric([channel], coverage.files - coverage.batches)
        yield from (per_hour, gaps, gap_seconds, unmerged)
