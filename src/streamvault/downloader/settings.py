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
    stop_grace: float = 10.0  # on SIGTERM, in-flight getters get this long, then are abandoned
    forget_after: float = 3 * 3600.0  # drop per-segment bookkeeping older than this
    fruitless_backoff_cap: float = 1.0  # fruitless workers in a row wait up to this x retry
    max_playlist_bytes: int = 4 << 20  # a playlist body (after decompression) past this: bad
    max_playlist_lines: int = 20_000  # a playlist with more lines: bad (Twitch's have ~100)
    max_segment_bytes: int = 64 << 20  # a segment body past this is refused, not stored
    init_cache_bytes: int = 8 << 20  # EXT-X-MAP init sections kept per worker (LRU)
    max_init_bytes: int = 2 << 20  # one EXT-X-MAP init section past this is refused
    plausible_past: float = 24 * 3600.0  # program date times older than now minus this: bad
    plausible_future: float = 15 * 60.0  # program date times later than now plus this: bad

    @property
    def longest_attempt(self) -> float:
        """The longest one download attempt may take (then its temp file is abandoned)."""
        return self.headers_hard + self.body_hard
