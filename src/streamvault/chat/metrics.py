"""Chat archiver metrics (documented in docs/metrics.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
