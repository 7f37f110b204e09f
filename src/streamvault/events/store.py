"""The event store: events and their history in SQLite or PostgreSQL, through SQLAlchemy Core.

Every change is one transaction that also appends its history entry. Updates are
compare-and-set on ``version`` (``UPDATE ... WHERE id = ? AND version = ?``): of two editors
who start from the same version one wins, and the other's attempt is kept in the history as a
``conflict`` entry before :class:`~streamvault.errors.EventConflict` reports the winner's row.
The cut-job side (claims, leases, results) lives in :mod:`.jobs`, on the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..clock import Clock, SystemClock
from ..errors import BadEvent, EventConflict, EventNotFound
from ..timeutil import format_iso
from . import model
from .db import create_engine, migrate
from .schema import API_HIDDEN, EVENT_COLUMNS, events, history

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class EventFilter:
    channel: str | None = None
    states: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    q: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: int | None = None  # list events with a smaller id (older) than this


def to_json(row: Row[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """An event row as the API shows it."""
    values = dict(row._mapping) if isinstance(row, Row) else dict(row)
    event = {name: values[name] for name in EVENT_COLUMNS if name not in API_HIDDEN}
    event["created"] = format_iso(values["created"])
    event["updated"] = format_iso(values["updated"])
    return event


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for event fields, the time-filter columns included."""
    values = dict(fields)
    if "ranges" in fields:
        values["start"], values["end"] = model.event_bounds(fields["ranges"])
    return values


def _history_row(
    event_id: int, at: datetime, who: str, action: str, version: int, changes: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "at": at,
        "who": who,
        "action": action,
        "version": version,
        "changes": changes,
    }


class EventStore:
    """Create, read, update, delete and list events; every change is recorded."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self._ready = False

    @classmethod
    async def connect(cls, url: str, clock: Clock | None = None) -> EventStore:
        """A store on ``url`` with its schema brought up to date."""
        store = cls(create_engine(url), clock)
        await store.open()
        return store

    async def open(self) -> None:
        """Apply the migrations (once); a database that cannot be reached is a ConfigError."""
        if not self._ready:
            await migrate(self.engine)
            self._ready = True

    async def close(self) -> None:
        await self.engine.dispose()

    async def _row(self, conn: AsyncConnection, event_id: int) -> Row[Any]:
        row = (await conn.execute(select(events).where(events.c.id == event_id))).first()
        if row is None:
            raise EventNotFound(f"no event {event_id}")
        return row

    async def record(
        self,
        conn: AsyncConnection,
        event_id: int,
        who: str,
        action: str,
        version: int,
        changes: Any,
    ) -> None:
        row = _history_row(event_id, self.clock.now(), who, action, version, changes)
        await conn.execute(insert(history).values(**row))

    async def create(self, data: Any, who: str) -> dict[str, Any]:
        fields = model.new_event(model.validate_fields(data))
        now = self.clock.now()
        values = {**_columns(fields), "version": 1, "created": now, "updated": now}
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(events).values(**values).returning(*events.c))
            row = result.one()
            await self.record(conn, row.id, who, "create", 1, model.diff({}, fields))
            return to_json(row)

    async def get(self, event_id: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            return to_json(await self._row(conn, event_id))

    async def update(self, event_id: int, version: int, data: Any, who: str) -> dict[str, Any]:
        """Apply ``data`` to the event if it is still at ``version`` (one transaction)."""
        async with self.engine.begin() as conn:
            current = to_json(await self._row(conn, event_id))
            fields = model.validate_fields(data, current)
            stale = current["version"] != version
            if not stale:
                changes = model.apply_update(current, fields)
                values = {**_columns(changes), "version": version + 1, "updated": self.clock.now()}
                result = await conn.execute(
                    update(events)
                    .where(events.c.id == event_id, events.c.version == version)
                    .values(**values)
                    .returning(*events.c)
                )
                updated = result.first()
                stale = updated is None  # another change landed since our read
            if stale:
                # keep the refused attempt in the history, against the row that won
                current = to_json(await self._row(conn, event_id))
                await self.record(
                    conn, event_id, who, "conflict", version, model.diff(current, fields)
                )
            else:
                await self.record(
                    conn, event_id, who, "update", version + 1, model.diff(current, changes)
                )
                assert updated is not None
                return to_json(updated)
        raise EventConflict(
            f"event {event_id} is at version {current['version']}, not {version}", current
        )

    async def delete(self, event_id: int, version: int, who: str) -> None:
        async with self.engine.begin() as conn:
            current = to_json(await self._row(conn, event_id))
            if current["state"] == model.CLAIMED:
                raise BadEvent(f"event {event_id} is being cut; delete it when it is not CLAIMED")
            result = await conn.execute(
                delete(events).where(events.c.id == event_id, events.c.version == version)
            )
            if result.rowcount == 1:
                await self.record(conn, event_id, who, "delete", version, model.diff(current, {}))
                return
        raise EventConflict(
            f"event {event_id} is at version {current['version']}, not {version}", current
        )

    async def history(self, event_id: int) -> list[dict[str, Any]]:
        """Every change of an event, oldest first (kept after the event is deleted)."""
        query = select(history).where(history.c.event_id == event_id).order_by(history.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                await self._row(conn, event_id)  # 404 for an id that never existed
        return [
            {
                "who": row.who,
                "when": format_iso(row.at),
                "action": row.action,
                "version": row.version,
                "changes": row.changes,
            }
            for row in rows
        ]

    async def list(self, where: EventFilter) -> tuple[list[dict[str, Any]], int | None]:
        """Events matching ``where``, newest first, and the cursor of the next page."""
        query = select(events).order_by(events.c.id.desc()).limit(where.limit + 1)
        for condition in _conditions(where):
            query = query.where(condition)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        page = [to_json(row) for row in rows[: where.limit]]
        more = len(rows) > where.limit
        return page, (page[-1]["id"] if more and page else None)

    async def counts(self) -> dict[str, int]:
        """How many events are in each state."""
        query = select(events.c.state, func.count()).group_by(events.c.state)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found = {state: 0 for state in model.STATES}
        found.update({str(state): int(count) for state, count in rows})
        return found

    async def find_duplicate(self, channel: str, ranges: Sequence[Any], title: str) -> int | None:
        """The id of an event with the same channel, ranges and title, if any (for imports)."""
        start, _end = model.event_bounds(list(ranges))
        query = select(events.c.id, events.c.ranges).where(
            events.c.channel == channel, events.c.title == title, events.c.start == start
        )
        async with self.engine.connect() as conn:
            for row in (await conn.execute(query)).all():
                if row.ranges == list(ranges):
                    return int(row.id)
        return None


def _conditions(where: EventFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.channel is not None:
        conditions.append(events.c.channel == where.channel)
    if where.states:
        conditions.append(events.c.state.in_(where.states))
    if where.start is not None:
        conditions.append(events.c.end > where.start)
    if where.end is not None:
        conditions.append(events.c.start < where.end)
    if where.cursor is not None:
        conditions.append(events.c.id < where.cursor)
    if where.q:
        needle = where.q.lower()
        texts = (events.c.title, events.c.description, events.c.notes, events.c.category)
        matches = [func.lower(column).contains(needle, autoescape=True) for column in texts]
        matches.append(func.lower(cast(events.c.tags, Text)).contains(needle, autoescape=True))
        conditions.append(or_(*matches))
    return [and_(*conditions)] if conditions else []
