"""Every threshold of the downloader in one value, in clock seconds, so tests can shrink them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Settings:
    poll_interval: float = 2.0  # media playlist polls
    playlist_timeout: float = 20.0  # one media/master playlist request
    headers_soft: float = 5.0  # no response headers yet: start a parallel attempt
    headers_hard: float = 60.0  # no response headers yet: abandon the attempt
    body_soft: float = 15.0  # body not complete: start a parallel attempt
    body_hard: float = 240.0  # body not complete: abandon the attempt (partial)
    suspect_after: float = 59.0  # a download that took this long is "suspect"
    give_up_after: float = 20 * 60.0  # after first seen, never retry a segment again
    retry_min: float = 1.0  # first retry of a failed segment (then doubling)
    retry_max: float = 30.0
    worker_rollover: float = 20 * 3600.0  # replace a worker before its URL expires
    master_retry_important: float = 5.0  # master playlist failed, important channel
    master_retry: float = 20.0  # master playlist failed, other channels
    min_refresh_interval: float = 1.0  # never fetch the master playlist more often
    max_getters: int = 64  # concurrent segment downloads per worker
    skew_tolerance: float = 0.010  # seconds a timestamp may differ from prev start + duration
    shutdown_grace: float = 30.0  # real seconds in-flight getters get on SIGTERM
    forget_after: float = 3 * 3600.0  # drop per-segment bookkeeping older than this
