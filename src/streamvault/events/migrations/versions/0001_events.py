"""Events and their history (SPEC §12).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from streamvault.events.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("quality", sa.String(200), nullable=False),
        sa.Column("ranges", sa.JSON, nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("chapters", sa.JSON, nullable=False),
        sa.Column("thumbnail", sa.JSON, nullable=True),
        sa.Column("cut_type", sa.String(16), nullable=False),
        sa.Column("allow_holes", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("editor", sa.String(200), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("output", sa.JSON, nullable=True),
        sa.Column("progress", sa.Float, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.Column("start", UTCDateTime, nullable=True),
        sa.Column("end", UTCDateTime, nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("claimed_from", sa.String(16), nullable=True),
    )
    op.create_index("ix_events_state", "events", ["state"])
    op.create_index("ix_events_channel", "events", ["channel"])
    op.create_table(
        "event_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_index("ix_event_history_event", "event_history", ["event_id"])


def downgrade() -> None:
    op.drop_table("event_history")
    op.drop_table("events")
