"""Table tests for the pure backfill plan (SPEC §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamvault.backfiller.plan import hours_to_check, plan_extras, plan_hour, resolve_start
from streamvault.store.chat_naming import CHAT_QUALITY, ChatBatch, batch_name_for
from streamvault.store.naming import format_name, hash_bytes, tombstone_name

HOUR = "2026-01-01T10"
H0 = datetime(2026, 1, 1, 10, tzinfo=UTC)
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
HASH_A = hash_bytes(b"a")
HASH_B = hash_bytes(b"b")


def name(second: float, hash: str = HASH_A, type: str = "full", duration: float = 2.0) -> str:
    return format_name(H0 + timedelta(seconds=second), duration, type, hash)


def fetched(
    local: list[str], remote: list[str], now: datetime = NOW, cutoff: float = 60
) -> list[str]:
    plan = plan_hour("ch", "source", HOUR, local, remote, now, timedelta(seconds=cutoff))
    return [s.name for s in plan.fetch]


@pytest.mark.parametrize(
    ("local", "remote", "expected"),
    [
        # nothing local: everything remote is fetched, in time order
        ([], [name(4), name(2)], [name(2), name(4)]),
        # the same name locally: nothing
        ([name(2)], [name(2)], []),
        # same start within 1 ms, same duration, type and hash: the same segment
        ([name(2.0005)], [name(2)], []),
        ([name(2)], [name(2.001)], []),
        # more than 1 ms apart: a different segment
        ([name(2)], [name(2.0011)], [name(2.0011)]),
        # same start but another type or duration: fetched (selection picks the best)
        ([name(2, type="partial")], [name(2)], [name(2)]),
        ([name(2, duration=1.5)], [name(2)], [name(2)]),
        # a full one of another hash is disputed: hash consensus decides (SPEC §15)
        ([name(2)], [name(2, HASH_B)], []),
        ([name(2, type="suspect")], [name(2, HASH_B)], [name(2, HASH_B)]),
        # temp files and names that do not parse are never fetched
        (
            [],
            ["00:02.000000-2.0-temp-0b8f3b7e-1d5c-4a47-9a4e-1c6f2e1f9b0a.ts", "junk.ts", "x"],
            [],
        ),
        # hidden locally: never fetched again
        ([tombstone_name(name(2))], [name(2)], []),
        # hidden remotely (a wubloader peer may list both): not fetched
        ([], [name(2), tombstone_name(name(2))], []),
    ],
)
def test_what_is_fetched(local: list[str], remote: list[str], expected: list[str]) -> None:
    assert fetched(local, remote) == expected


def test_segments_younger_than_the_cutoff_are_left_to_the_downloader() -> None:
    now = H0 + timedelta(seconds=100)
    remote = [name(30), name(40), name(40.1), name(90)]
    plan = plan_hour("ch", "source", HOUR, [], remote, now, timedelta(seconds=60))
    assert [s.name for s in plan.fetch] == [name(30), name(40)]
    assert [s.name for s in plan.too_recent] == [name(40.1), name(90)]
    assert fetched([], remote, now, cutoff=0) == sorted(remote)


@pytest.mark.parametrize(
    ("local", "remote", "expected"),
    [
        ([], [tombstone_name(name(2))], [name(2)]),
        ([tombstone_name(name(2))], [tombstone_name(name(2))], []),
        # a local segment that is hidden remotely gets its tombstone
        ([name(2)], [tombstone_name(name(2))], [name(2)]),
        # a tombstone whose name does not parse is ignored
        ([], ["junk.ts.tombstone"], []),
    ],
)
def test_tombstones_to_create(local: list[str], remote: list[str], expected: list[str]) -> None:
    plan = plan_hour("ch", "source", HOUR, local, remote, NOW)
    assert [s.name for s in plan.tombstones] == expected


def test_bad_names_are_reported() -> None:
    plan = plan_hour("ch", "source", HOUR, [], ["junk.ts", name(2)], NOW)
    assert plan.bad == ("junk.ts",)
    assert plan_hour("ch", "source", "not-an-hour", [], [name(2)], NOW).fetch == ()


def test_plan_never_mutates_its_inputs() -> None:
    local = [name(2), tombstone_name(name(6))]
    remote = [name(4), name(2), tombstone_name(name(8)), name(6)]
    local_copy, remote_copy = list(local), list(remote)
    plan_hour("ch", "source", HOUR, local, remote, NOW)
    assert local == local_copy
    assert remote == remote_copy


@given(
    seconds=st.lists(st.integers(min_value=0, max_value=3599), max_size=30),
    have=st.lists(st.integers(min_value=0, max_value=3599), max_size=30),
)
def test_after_copying_the_plan_nothing_is_left(seconds: list[int], have: list[int]) -> None:
    remote = [name(s) for s in seconds]
    local = [name(s) for s in have]
    to_fetch = fetched(local, remote)
    assert set(to_fetch) == set(remote) - set(local)
    assert fetched(local + to_fetch, remote) == []


# --- hours -------------------------------------------------------------------------------

START = NOW - timedelta(hours=48)


def test_union_of_hours_across_qualities_and_peers() -> None:
    source = ["2026-01-01T10", "2026-01-01T11"]
    p480 = ["2026-01-01T09", "2026-01-01T11"]
    other_peer: list[str] = ["2026-01-01T12"]
    hours = hours_to_check([source, p480, other_peer], NOW, START, "forward")
    assert hours == ["2026-01-01T09", "2026-01-01T10", "2026-01-01T11", "2026-01-01T12"]


def test_order_and_start() -> None:
    listed = [["2025-12-30T11", "2025-12-30T12", "2026-01-01T11", "2026-01-01T10", "junk"]]
    assert hours_to_check(listed, NOW, START, "reverse") == [
        "2026-01-01T11",
        "2026-01-01T10",
        "2025-12-30T12",
    ]
    assert hours_to_check(listed, NOW, START, "forward")[0] == "2025-12-30T12"
    # the hour in which --start falls is included
    assert hours_to_check(listed, NOW, START + timedelta(minutes=30), "forward")[0] == (
        "2025-12-30T12"
    )
    with pytest.raises(ValueError, match="order must be one of"):
        hours_to_check(listed, NOW, START, "random")  # type: ignore[arg-type]


def test_recent_hours_every_pass_older_hours_only_on_full_passes() -> None:
    listed = [["2026-01-01T08", "2026-01-01T09", "2026-01-01T10", "2026-01-01T11", "2026-01-01T12"]]
    recent = hours_to_check(listed, NOW, START, "forward", timedelta(hours=2), include_old=False)
    assert recent == ["2026-01-01T10", "2026-01-01T11", "2026-01-01T12"]
    assert len(hours_to_check(listed, NOW, START, "forward", timedelta(hours=2))) == 5


def test_hours_never_mutates_its_inputs() -> None:
    listed = [["2026-01-01T11", "2026-01-01T10"], ["2026-01-01T09"]]
    copy = [list(h) for h in listed]
    hours_to_check(listed, NOW, START, "reverse")
    hours_to_check(listed, NOW, START, "forward")
    assert listed == copy


def test_resolve_start() -> None:
    assert resolve_start(2.5, NOW) == NOW - timedelta(hours=2.5)
    assert resolve_start(H0, NOW) == H0


@pytest.mark.parametrize(
    ("local", "remote", "fetch", "tombstones"),
    [
        # a wubloader peer's tombstone: hides the segment here, and is created here
        ([name(2)], [tombstone_name(name(2))], [], [name(2)]),
        ([], [name(4), tombstone_name(name(2))], [name(4)], [name(2)]),
        # an old streamvault peer's tombstone: the same, created in the canonical form
        ([], [name(2) + ".tombstone"], [], [name(2)]),
        # hidden here in the legacy form: neither fetched nor tombstoned again
        ([name(2) + ".tombstone"], [name(2), tombstone_name(name(2))], [], []),
        # hidden here in the canonical form, peer in the legacy form: nothing to do
        ([tombstone_name(name(2))], [name(2), name(2) + ".tombstone"], [], []),
    ],
)
def test_tombstones_of_either_form(
    local: list[str], remote: list[str], fetch: list[str], tombstones: list[str]
) -> None:
    plan = plan_hour("ch", "source", HOUR, local, remote, NOW)
    assert [s.name for s in plan.fetch] == fetch
    assert [s.name for s in plan.tombstones] == tombstones
    assert plan.bad == ()


def test_every_unusable_name_is_reported_but_temp_names_are_not() -> None:
    temp = "00:02.000000-2.0-temp-0b8f3b7e-1d5c-4a47-9a4e-1c6f2e1f9b0a.ts"
    junk = ["junk.ts", "x", "notes.tombstone", f"00:00-{HASH_A}.json"]
    plan = plan_hour("ch", "source", HOUR, [], [temp, name(2), *junk], NOW)
    assert [s.name for s in plan.fetch] == [name(2)]
    assert sorted(plan.bad) == sorted(junk)


def batch(minute: int, content: bytes = b"a") -> str:
    return batch_name_for(H0 + timedelta(minutes=minute), content)


def test_chat_batches_are_planned_by_name_without_a_cut_off() -> None:
    just_written = batch(59)
    remote = [batch(1), batch(1, b"other"), batch(2), just_written, name(2), "x.json"]
    local = [batch(2), tombstone_name(batch(3))]
    plan = plan_hour("ch", CHAT_QUALITY, HOUR, local, [*remote, batch(3)], H0 + timedelta(hours=1))
    assert {b.name for b in plan.fetch} == {batch(1), batch(1, b"other"), just_written}
    assert all(isinstance(b, ChatBatch) for b in plan.fetch)
    assert sorted(plan.bad) == sorted([name(2), "x.json"])  # a segment name is no chat batch
    hidden = plan_hour("ch", CHAT_QUALITY, HOUR, [], [batch(1), tombstone_name(batch(1))], NOW)
    assert hidden.fetch == () and [b.name for b in hidden.tombstones] == [batch(1)]


@pytest.mark.parametrize(
    "path",
    ["../escape", "a/../../b", ".hidden", "a/.git/config", "/etc/passwd", "a//b", "", "a\\b", "a/"],
)
def test_unsafe_extras_paths_are_refused(path: str) -> None:
    assert plan_extras(set(), [path, "25/dark-1.0"]) == (("25/dark-1.0",), (path,))


def test_extras_already_here_are_not_fetched() -> None:
    fetch, refused = plan_extras({"25/dark-1.0"}, ["25/dark-1.0", "25/light-1.0", "25/light-1.0"])
    assert fetch == ("25/light-1.0",) and refused == ()


@pytest.mark.parametrize(
    ("newest_recorded", "expected"),
    [
        (None, 0),  # nothing records the stream here
        (-5, 60),  # recording: 5 s ago
        (-59.9, 60),
        (-60, 0),  # down or behind by the cut-off: copy at once
        (-3600, 0),
    ],
)
def test_the_cutoff_applies_only_while_the_stream_is_recorded_here(
    newest_recorded: float | None, expected: float
) -> None:
    from streamvault.backfiller.cutoff import effective_cutoff

    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    newest = None if newest_recorded is None else now + timedelta(seconds=newest_recorded)
    assert effective_cutoff(timedelta(seconds=60), newest, now) == timedelta(seconds=expected)
