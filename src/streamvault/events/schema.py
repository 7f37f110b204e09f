"""The event tables, as SQLAlchemy Core metadata (the migrations in ``migrations/`` build them).

One table of events, one append-only table of history entries. Times are aware UTC datetimes
on both databases (:class:`UTCDateTime`); lists and objects are JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out: PostgreSQL keeps ``timestamptz``; SQLite keeps naive UTC text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(200), nullable=False),
    Column("quality", String(200), nullable=False),
    Column("ranges", JSON, nullable=False),
    Column("title", String(100), nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("category", String(200), nullable=False),
    Column("notes", Text, nullable=False),
    Column("chapters", JSON, nullable=False),
    Column("thumbnail", JSON, nullable=True),
    Column("cut_type", String(16), nullable=False),
    Column("allow_holes", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("editor", String(200), nullable=True),
    Column("error", Text, nullable=True),
    Column("output", JSON, nullable=True),
    Column("progress", Float, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    # earliest start and latest end of the ranges, for time filters
    Column("start", UTCDateTime, nullable=True),
    Column("end", UTCDateTime, nullable=True),
    # the cut job: who holds the claim, until when, and the state to go back to if it lapses
    Column("claimed_by", String(200), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("claimed_from", String(16), nullable=True),
    Index("ix_events_state", "state"),
    Index("ix_events_channel", "channel"),
)

history = Table(
    "event_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("who", String(200), nullable=False),
    # create, update, conflict (a stale update, kept), delete, claim, reclaim, release, done,
    # failed
    Column("action", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("changes", JSON, nullable=False),
    Index("ix_event_history_event", "event_id"),
)

#: Columns that are event fields the API shows (the claim columns are the cutter's own).
EVENT_COLUMNS = tuple(c.name for c in events.columns if c.name not in ("start", "end"))
API_HIDDEN = frozenset({"claimed_by", "lease_until", "claimed_from"})
