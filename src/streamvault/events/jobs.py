"""Cut jobs on the event tables: claim, keep the lease, finish (SPEC §12).

A cutter claims one ``EDITED`` or ``MODIFIED`` event at a time, or a ``CLAIMED`` one whose
lease ran out (its cutter died). Two cutters never hold the same event:

- PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks a row no other transaction holds,
  and the claim is written in that transaction;
- SQLite: the claim is a conditional ``UPDATE ... WHERE id = ? AND version = ?``, atomic
  because SQLite runs one writer at a time; a cutter that loses the race tries the next
  candidate (a bounded number of times).

While it works the cutter renews its lease and records progress (neither bumps ``version``:
they are bookkeeping, and editors must not get 409s for them). Finishing checks that the claim
is still its own, so a cutter whose lease lapsed cannot overwrite the one that took over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import model
from .schema import events
from .store import EventStore, to_json

#: Candidates a SQLite claim tries before it waits for the next poll.
CLAIM_TRIES = 8


class JobQueue:
    """The cutter's side of the event store."""

    def __init__(self, store: EventStore, cutter: str, lease: float) -> None:
        self.store = store
        self.cutter = cutter
        self.lease = lease

    def _claimable(self) -> Any:
        now = self.store.clock.now()
        return or_(
            events.c.state.in_(model.CLAIMABLE),
            and_(events.c.state == model.CLAIMED, events.c.lease_until < now),
        )

    async def claim(self) -> dict[str, Any] | None:
        """Claim the longest-waiting claimable event, or None when there is none."""
        postgres = self.store.engine.dialect.name == "postgresql"
        for _ in range(1 if postgres else CLAIM_TRIES):
            async with self.store.engine.begin() as conn:
                query = (
                    select(events)
                    .where(self._claimable())
                    .order_by(events.c.updated, events.c.id)
                    .limit(1)
                )
                if postgres:
                    query = query.with_for_update(skip_locked=True)
                row = (await conn.execute(query)).first()
                if row is None:
                    return None
                claimed = await self._take(conn, dict(row._mapping))
                if claimed is not None:
                    return claimed
        return None

    async def _take(self, conn: AsyncConnection, row: dict[str, Any]) -> dict[str, Any] | None:
        now = self.store.clock.now()
        lapsed = row["state"] == model.CLAIMED
        values = {
            "state": model.CLAIMED,
            "claimed_by": self.cutter,
            "lease_until": now + timedelta(seconds=self.lease),
            "claimed_from": row["claimed_from"] if lapsed else row["state"],
            "progress": 0.0,
            "error": None,
            "version": row["version"] + 1,
            "updated": now,
        }
        result = await conn.execute(
            update(events)
            .where(events.c.id == row["id"], events.c.version == row["version"])
            .values(**values)
        )
        if result.rowcount != 1:
            return None  # another cutter took it first (SQLite)
        changes: dict[str, dict[str, Any]] = {"state": {"old": row["state"], "new": model.CLAIMED}}
        changes["claimed_by"] = {"old": row["claimed_by"], "new": self.cutter}
        action = "reclaim" if lapsed else "claim"
        await self.store.record(conn, row["id"], self.cutter, action, values["version"], changes)
        return to_json({**row, **values})

    def _mine(self, event_id: int) -> Any:
        return and_(
            events.c.id == event_id,
            events.c.state == model.CLAIMED,
            events.c.claimed_by == self.cutter,
        )

    async def renew(self, event_id: int, progress: float) -> bool:
        """Extend the lease and record progress; False when the claim is no longer ours."""
        lease_until = self.store.clock.now() + timedelta(seconds=self.lease)
        async with self.store.engine.begin() as conn:
            result = await conn.execute(
                update(events)
                .where(self._mine(event_id))
                .values(lease_until=lease_until, progress=progress)
            )
        return bool(result.rowcount == 1)

    async def release(self, event_id: int) -> bool:
        """Give the event back unfinished (a stopping cutter): claimable again at once."""
        async with self.store.engine.begin() as conn:
            row = (await conn.execute(select(events).where(self._mine(event_id)))).first()
            if row is None:
                return False
            values = {
                "state": row.claimed_from or model.EDITED,
                "claimed_by": None,
                "lease_until": None,
                "claimed_from": None,
                "version": row.version + 1,
                "updated": self.store.clock.now(),
            }
            await conn.execute(
                update(events)
                .where(self._mine(event_id), events.c.version == row.version)
                .values(**values)
            )
            changes = {"state": {"old": model.CLAIMED, "new": values["state"]}}
            await self.store.record(
                conn, event_id, self.cutter, "release", row.version + 1, changes
            )
        return True

    async def finish(self, event_id: int, output: dict[str, Any] | None, error: str | None) -> bool:
        """``DONE`` with ``output``, or ``FAILED`` with ``error``; False if the claim lapsed."""
        state = model.DONE if error is None else model.FAILED
        async with self.store.engine.begin() as conn:
            row = (await conn.execute(select(events).where(self._mine(event_id)))).first()
            if row is None:
                return False
            values = {
                "state": state,
                "output": output if error is None else row.output,
                "error": error,
                "progress": 1.0 if error is None else row.progress,
                "claimed_by": None,
                "lease_until": None,
                "claimed_from": None,
                "version": row.version + 1,
                "updated": self.store.clock.now(),
            }
            result = await conn.execute(
                update(events)
                .where(self._mine(event_id), events.c.version == row.version)
                .values(**values)
            )
            if result.rowcount != 1:
                return False
            changes: dict[str, dict[str, Any]] = {"state": {"old": model.CLAIMED, "new": state}}
            if error is None:
                changes["output"] = {"old": row.output, "new": output}
            else:
                changes["error"] = {"old": row.error, "new": error}
            action = "done" if error is None else "failed"
            await self.store.record(conn, event_id, self.cutter, action, row.version + 1, changes)
        return True
