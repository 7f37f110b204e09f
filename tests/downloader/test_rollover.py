"""The rollover rule as a pure object (SPEC §6.5): a table of transitions, then invariants."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamvault.downloader.rollover import MAX_WORKERS, Actions, Rollover

RETRY = 20.0


def rollover() -> Rollover:
    return Rollover(RETRY, min_interval=1.0)


def started(r: Rollover, now: float = 0.0) -> int:
    assert r.start_at() is not None and r.start_at() <= now  # type: ignore[operator]
    return r.started(now)


# --- one transition each --------------------------------------------------------------------


def test_a_new_stream_wants_one_worker_at_once() -> None:
    r = rollover()
    assert r.start_at() == float("-inf")
    first = started(r)
    assert r.polling == [first] and r.start_at() is None


@pytest.mark.parametrize("reason", ["URL is getting old", "timestamp skew", "poll failed"])
def test_replacement_runs_beside_the_old_one_until_it_works(reason: str) -> None:
    r = rollover()
    old = started(r)
    assert r.working(old) == Actions()
    assert r.replacement_wanted(old, 10.0).start_at == 1.0  # at once (after the 1 s floor)
    new = started(r, 10.0)
    assert r.polling == [old, new]
    assert r.working(new) == Actions(stop=(old,))
    assert r.polling == [new] and r.running == 2  # the old one finishes its getters
    assert r.finished(old, 12.0) == Actions()
    assert r.running == 1 and r.start_at() is None


@pytest.mark.parametrize("reason", ["#EXT-X-ENDLIST", "playlist 403", "playlist 404", "crash"])
def test_an_ended_worker_stops_by_itself_and_is_replaced(reason: str) -> None:
    r = rollover()
    old = started(r)
    r.working(old)
    actions = r.ended(old, 30.0)
    assert actions.stop == (old,)
    assert actions.start_at == 1.0  # it worked: its successor may start at once
    new = started(r, 30.0)
    assert r.running == 2 and r.polling == [new]
    r.finished(old, 31.0)
    assert r.running == 1


def test_a_fruitless_replacement_counts_as_stream_down() -> None:
    r = rollover()
    old = started(r)
    r.working(old)
    r.ended(old, 30.0)  # ENDLIST
    new = started(r, 30.0)
    r.finished(old, 30.5)
    actions = r.ended(new, 31.0)  # its playlist has nothing new either
    assert actions.stop == (new,)
    assert actions.start_at == 31.0 + RETRY  # wait the stream-down interval
    r.finished(new, 31.0)
    assert r.running == 0 and r.start_at() == 31.0 + RETRY


def test_a_replacement_that_sees_only_segments_already_taken_waits_too() -> None:
    r = rollover()
    old = started(r)
    r.working(old)
    r.ended(old, 30.0, fruitful=True)  # ENDLIST after hours of work: replaced at once
    new = started(r, 30.0)
    assert r.working(new) == Actions()  # it sees the old segments, so it "works"...
    r.finished(old, 30.5)
    assert r.ended(new, 31.0, fruitful=False).start_at == 31.0 + RETRY  # ...but found nothing


def test_a_first_poll_that_fails_backs_off_too() -> None:
    r = rollover()
    first = started(r)
    assert r.finished(first, 5.0).start_at == 5.0 + RETRY  # went away before working


def test_backoff_grows_to_its_cap_and_resets_once_a_worker_works() -> None:
    r = Rollover(5.0, min_interval=1.0, backoff_cap=4.0)
    now = 0.0
    pauses = []
    for _ in range(5):
        worker = started(r, now)
        at = r.ended(worker, now).start_at
        assert at is not None
        pauses.append(at - now)
        r.finished(worker, now)
        now = at
    assert pauses == [5.0, 10.0, 20.0, 20.0, 20.0]
    worker = started(r, now)
    r.working(worker)
    r.ended(worker, now + 100)
    other = started(r, now + 100)
    assert r.ended(other, now + 101).start_at is None  # two still finishing: neither is gone
    assert r.finished(worker, now + 101).start_at == now + 106  # back to the interval


def test_requests_for_a_replacement_merge_and_never_make_a_third_worker() -> None:
    r = rollover()
    old = started(r)
    r.working(old)
    r.replacement_wanted(old, 1.0)
    new = started(r, 1.0)
    for _ in range(3):
        assert r.replacement_wanted(old, 2.0).start_at is None  # merged into the pending one
        assert r.replacement_wanted(new, 2.0).start_at is None  # two running: wait
    assert r.running == 2
    assert r.working(new).stop == (old,)
    assert r.start_at() is None  # old still finishing its getters
    assert r.finished(old, 3.0).start_at == 2.0  # now new's own request is served


def test_an_older_worker_ending_beside_a_pending_replacement_wants_nothing_more() -> None:
    r = rollover()
    old = started(r)
    r.working(old)
    r.replacement_wanted(old, 1.0)
    started(r, 1.0)
    assert r.ended(old, 2.0) == Actions(stop=(old,), start_at=None)


def test_master_playlist_failure_waits_the_interval() -> None:
    r = rollover()
    assert r.master_failed(3.0).start_at == 3.0 + RETRY


def test_close_stops_everyone_and_starts_nothing() -> None:
    r = rollover()
    old = started(r)
    r.replacement_wanted(old, 1.0)
    new = started(r, 1.0)
    assert r.close() == Actions(stop=(old, new), start_at=None)
    assert r.finished(old, 2.0).start_at is None


def test_events_about_unknown_workers_change_nothing() -> None:
    r = rollover()
    first = started(r)
    for actions in (r.working(99), r.ended(99, 1.0), r.finished(99, 1.0)):
        assert actions == Actions()
    assert r.polling == [first]


def test_starting_when_nothing_is_wanted_is_our_bug() -> None:
    r = rollover()
    started(r)
    with pytest.raises(RuntimeError):
        r.started(1.0)


# --- invariants -----------------------------------------------------------------------------

UP_EVENTS = ("working", "replace", "finish_stopped", "tick")
ALL_EVENTS = (*UP_EVENTS, "ended", "master_failed", "finish_any")


@dataclass
class Driver:
    """Plays a manager: starts a worker whenever the rollover asks and the time has come."""

    rollover: Rollover
    now: float = 0.0
    stopped: set[int] | None = None

    def step(self, event: str, pick: int) -> None:
        r = self.rollover
        workers = [w.id for w in r.workers]
        target = workers[pick % len(workers)] if workers else -1
        stopping = [w.id for w in r.workers if w.stopping]
        if event == "working":
            r.working(target)
        elif event == "replace":
            r.replacement_wanted(target, self.now)
        elif event == "ended":
            r.ended(target, self.now, fruitful=pick % 2 == 0)
        elif event == "master_failed":
            r.master_failed(self.now)
        elif event == "finish_stopped" and stopping:
            r.finished(stopping[pick % len(stopping)], self.now)
        elif event == "finish_any":
            r.finished(target, self.now)
        self.now += 1.0 if event == "tick" else 0.25
        at = r.start_at()
        if at is not None and at <= self.now:
            r.started(self.now)


events = st.lists(st.tuples(st.sampled_from(UP_EVENTS), st.integers(0, 3)), max_size=60)
any_events = st.lists(st.tuples(st.sampled_from(ALL_EVENTS), st.integers(0, 3)), max_size=80)


@settings(max_examples=300, deadline=None)
@given(events)
def test_while_the_stream_is_up_there_are_one_or_two_workers(steps: list[tuple[str, int]]) -> None:
    driver = Driver(rollover())
    driver.step("tick", 0)
    for event, pick in steps:
        driver.step(event, pick)
        r = driver.rollover
        assert 0 < r.running <= MAX_WORKERS
        assert r.polling, "a stream that is up always has a polling worker"


@settings(max_examples=300, deadline=None)
@given(any_events)
def test_never_more_than_two_and_ended_workers_are_gone_once_finished(
    steps: list[tuple[str, int]],
) -> None:
    driver = Driver(rollover())
    r = driver.rollover
    finished: set[int] = set()
    for event, pick in steps:
        ending = {w.id for w in r.workers}
        driver.step(event, pick)
        assert r.running <= MAX_WORKERS
        if event == "ended" and ending:
            target = sorted(ending)[pick % len(ending)]
            assert target not in r.polling  # an ended worker stops at once, by itself
        if event in ("finish_stopped", "finish_any"):
            finished |= ending - {w.id for w in r.workers}
        assert not finished & {w.id for w in r.workers}  # gone after its getters finish
        if not r.polling:  # never left without a worker on its way (once one of two is gone)
            assert r.start_at() is not None or r.running == MAX_WORKERS
