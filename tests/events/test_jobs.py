"""Cut-job claims on the event tables (SPEC §12), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from streamvault.clock import FakeClock
from streamvault.events.jobs import JobQueue
from streamvault.events.store import EventStore

RANGE = {"start": "2026-11-28T04:00:00Z", "end": "2026-11-28T04:00:10Z", "transition": None}
OUTPUT = {"location": "/cuts/x.ts", "size": 10, "sha256": "ab" * 32}


async def edited(store: EventStore, count: int) -> list[int]:
    events = [
        await store.create({"channel": "c", "ranges": [RANGE], "state": "EDITED"}, "editor")
        for _ in range(count)
    ]
    return [event["id"] for event in events]


async def test_concurrent_cutters_never_claim_the_same_event(event_store: EventStore) -> None:
    ids = await edited(event_store, 12)
    queues = [JobQueue(event_store, f"cutter{n}", lease=60) for n in range(4)]

    async def drain(queue: JobQueue) -> list[int]:
        taken = []
        while (event := await queue.claim()) is not None:
            taken.append(event["id"])
        return taken

    results = await asyncio.gather(*(drain(queue) for queue in queues))
    claimed = [event_id for taken in results for event_id in taken]
    assert sorted(claimed) == sorted(ids)  # each exactly once
    assert (await event_store.counts())["CLAIMED"] == 12


async def test_a_lapsed_lease_is_taken_back_and_the_old_cutter_cannot_finish(
    event_store: EventStore,
) -> None:
    clock = FakeClock(datetime(2026, 11, 28, 5, tzinfo=UTC))
    event_store.clock = clock
    [event_id] = await edited(event_store, 1)
    dead, alive = JobQueue(event_store, "dead", lease=30), JobQueue(event_store, "alive", lease=30)
    claim = await dead.claim()
    assert claim is not None and claim["state"] == "CLAIMED"
    assert await alive.claim() is None  # the lease still holds
    await clock.advance(20)
    assert await dead.renew(event_id, 0.5)
    await clock.advance(20)
    assert await alive.claim() is None  # renewed 20 s ago: 10 s left
    await clock.advance(15)
    retaken = await alive.claim()
    assert retaken is not None and retaken["id"] == event_id
    assert not await dead.renew(event_id, 0.9)
    assert not await dead.finish(event_id, OUTPUT, None)
    assert await alive.finish(event_id, OUTPUT, None)
    event = await event_store.get(event_id)
    assert event["state"] == "DONE" and event["output"] == OUTPUT and event["progress"] == 1.0
    history = await event_store.history(event_id)
    assert [h["action"] for h in history] == ["create", "claim", "reclaim", "done"]
    assert history[2]["changes"]["claimed_by"]["old"].startswith("dead")


async def test_modified_events_are_claimed_and_failures_keep_the_reason(
    event_store: EventStore,
) -> None:
    [event_id] = await edited(event_store, 1)
    queue = JobQueue(event_store, "cutter", lease=60)
    assert await queue.claim() is not None
    assert await queue.finish(event_id, None, "the range holds no video")
    failed = await event_store.get(event_id)
    assert failed["state"] == "FAILED" and failed["error"] == "the range holds no video"
    assert await queue.claim() is None  # FAILED waits for an editor
    resubmitted = await event_store.update(event_id, failed["version"], {"state": "EDITED"}, "ed")
    assert (await queue.claim()) is not None
    assert await queue.finish(event_id, OUTPUT, None)
    done = await event_store.get(event_id)
    assert done["error"] is None
    await event_store.update(event_id, done["version"], {"state": "MODIFIED"}, "ed")
    again = await queue.claim()
    assert again is not None and again["id"] == event_id
    assert resubmitted["version"] < again["version"]


async def test_a_stopping_cutter_hands_its_event_back(event_store: EventStore) -> None:
    [event_id] = await edited(event_store, 1)
    done = JobQueue(event_store, "first", lease=60)
    assert await done.claim() is not None and await done.finish(event_id, OUTPUT, None)
    modified = await event_store.get(event_id)
    await event_store.update(event_id, modified["version"], {"state": "MODIFIED"}, "ed")
    stopping, other = JobQueue(event_store, "stopping", 60), JobQueue(event_store, "other", 60)
    assert await stopping.claim() is not None
    assert await stopping.release(event_id)
    assert (await event_store.get(event_id))["state"] == "MODIFIED"  # where it came from
    assert not await stopping.release(event_id)
    again = await other.claim()
    assert again is not None and again["id"] == event_id
