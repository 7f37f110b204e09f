"""Which workers of one (channel, quality) run, which stop: the rollover rule (SPEC §6.5). Pure.

Like httpcore's connection pool, this is bookkeeping with no I/O: the manager feeds it events
(a worker started, is working, ended, failed, wants a replacement, finished) and acts on what
it returns (stop these workers; start one at this time). The rule:

- never zero workers while the stream is up: a replacement runs beside the old worker, and the
  old one stops only once the replacement is working (saw its first non-ad segment);
- a worker whose playlist ended (``#EXT-X-ENDLIST``, 403/404) or that cannot go on stops by
  itself at once, whether or not a replacement works yet;
- never more than two workers (the current one and one replacement), counting workers that
  are still finishing their getters; a request for another replacement merges into the pending
  one;
- a worker that ends having fetched nothing new was fruitless (an ended stream whose master
  playlist still answers, a playlist that answers 500): the next start waits the stream-down
  retry interval (growing with each fruitless worker in a row up to ``backoff_cap`` times
  it, if that is above 1), with jitter, so an ended stream costs a few requests a minute
  rather than a worker a second;
- a failed master playlist (offline, error, quality missing) waits the retry interval too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..backoff import Backoff

MAX_WORKERS = 2


@dataclass(frozen=True, slots=True)
class Actions:
    """What the caller must do: stop these workers now; start one at ``start_at`` (or never)."""

    stop: tuple[int, ...] = ()
    start_at: float | None = None


@dataclass(slots=True)
class _Worker:
    id: int
    working: bool = False
    stopping: bool = False


@dataclass(slots=True)
class Rollover:
    """The workers of one (channel, quality), by id, oldest first.

    ``retry_interval`` is the stream-down interval (5 s important, 20 s other channels);
    ``min_interval`` the shortest pause between two starts; ``jitter()`` returns a factor
    around 1 (tests pass ``lambda: 1.0``). Times are the caller's monotonic clock seconds.
    """

    retry_interval: float
    min_interval: float = 1.0
    backoff_cap: float = 1.0
    jitter: Callable[[], float] = lambda: 1.0
    workers: list[_Worker] = field(default_factory=list)
    closed: bool = False
    _wanted: bool = True  # a (new or replacement) worker is wanted
    _not_before: float = float("-inf")  # the earliest time the next start may happen
    _fruitless: int = 0  # workers in a row that ended or failed before working
    _next_id: int = 0

    # --- queries ------------------------------------------------------------------------------

    @property
    def running(self) -> int:
        """Workers that exist (polling, or finishing their getters)."""
        return len(self.workers)

    @property
    def polling(self) -> list[int]:
        return [w.id for w in self.workers if not w.stopping]

    def start_at(self) -> float | None:
        """When the caller should start a worker (ask the master playlist), or None."""
        if self.closed or not self._wanted or len(self.workers) >= MAX_WORKERS:
            return None
        return self._not_before

    # --- events -------------------------------------------------------------------------------

    def started(self, now: float) -> int:
        """The caller started a worker (the master playlist gave a URL): its id."""
        if self.start_at() is None:
            raise RuntimeError("no worker was wanted")  # our bug, never upstream's
        self._next_id += 1
        self.workers.append(_Worker(self._next_id))
        self._wanted = False
        self._not_before = now + self.min_interval
        return self._next_id

    def master_failed(self, now: float) -> Actions:
        """The master playlist failed or lacks this quality: ask again after the interval."""
        self._not_before = max(self._not_before, now + self.retry_interval * self.jitter())
        return self._actions()

    def working(self, worker: int) -> Actions:
        """``worker`` saw its first non-ad segment: every older polling worker stops."""
        found = self._find(worker)
        if found is None or found.working:
            return self._actions()
        found.working = True
        stop = []
        for older in self.workers:
            if older is found:
                break
            if not older.stopping:
                older.stopping = True
                stop.append(older.id)
        return self._actions(stop)

    def replacement_wanted(self, worker: int, now: float) -> Actions:
        """``worker`` goes on but wants a successor (URL expiring, skew, failing polls)."""
        found = self._find(worker)
        if found is not None and not found.stopping and self._is_newest(found):
            self._wanted = True
        return self._actions()

    def ended(self, worker: int, now: float, fruitful: bool | None = None) -> Actions:
        """``worker`` cannot go on (playlist ended, 403/404, first poll failed, crashed).

        ``fruitful``: it fetched something new (default: it was working). A fruitless end
        counts as "stream down": the next start waits the retry interval."""
        found = self._find(worker)
        if found is None:
            return self._actions()
        stop = () if found.stopping else (found.id,)
        newest = self._is_newest(found) or all(w.stopping for w in self.workers if w is not found)
        found.stopping = True
        if fruitful is None:
            fruitful = found.working
        if fruitful:
            self._fruitless = 0
        else:
            self._fruitless += 1
            growth = Backoff(self.retry_interval, self.retry_interval * self.backoff_cap)
            pause = growth.base(self._fruitless)
            self._not_before = max(self._not_before, now + pause * self.jitter())
        if newest:
            self._wanted = True
        return self._actions(stop)

    def finished(self, worker: int, now: float) -> Actions:
        """``worker``'s task is over (its getters are done): it is gone."""
        found = self._find(worker)
        if found is None:
            return self._actions()
        if not found.stopping:
            self.ended(worker, now, fruitful=False)  # a worker that just went away failed
        self.workers.remove(found)
        if not any(not w.stopping for w in self.workers):
            self._wanted = True  # never leave the stream without a polling worker
        return self._actions()

    def close(self) -> Actions:
        """Shutting down: every worker stops, none starts."""
        self.closed = True
        stop = []
        for w in self.workers:
            if not w.stopping:
                w.stopping = True
                stop.append(w.id)
        return Actions(tuple(stop), None)

    # --- helpers ------------------------------------------------------------------------------

    def _find(self, worker: int) -> _Worker | None:
        return next((w for w in self.workers if w.id == worker), None)

    def _is_newest(self, worker: _Worker) -> bool:
        return bool(self.workers) and self.workers[-1] is worker

    def _actions(self, stop: list[int] | tuple[int, ...] = ()) -> Actions:
        return Actions(tuple(stop), self.start_at())
