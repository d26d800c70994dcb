"""The store's tables (SQLAlchemy Core) and the two column types they need.

The tables here describe the schema as the code expects it *after* all migrations; the
migrations in ``migrations/versions`` are what actually create and change it. When a table
changes here, a new migration must change it there too.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

#: The states of a journal entry (DESIGN §5): intent → in_flight → done; failed (the portal
#: shows it did not happen: may be tried again); refused (the portal said no: a person's);
#: in_doubt (the outcome cannot be read back: never acted on again by a bot, a person decides).
ACTION_STATES = ("intent", "in_flight", "done", "failed", "abandoned", "refused", "in_doubt")


class UtcDateTime(TypeDecorator):
    """An aware datetime, stored in UTC; naive datetimes are refused.

    SQLAlchemy's SQLite ``DateTime`` silently drops the offset, so on SQLite this is a
    fixed-width ISO 8601 string in UTC (``2026-11-22T02:15:03.000000+00:00``): such strings
    sort and compare in SQL in time order. Elsewhere it is ``TIMESTAMP WITH TIME ZONE``.
    Values come back as aware datetimes in UTC; they compare equal to what was stored.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"expected an aware datetime, got {value!r}")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.isoformat(timespec="microseconds")
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.astimezone(timezone.utc)


class JSONText(TypeDecorator):
    """A dict (or any JSON value) kept as JSON text, keys sorted so equal values read equal.

    Plain text rather than a JSON column so that SQLite and PostgreSQL store the same bytes.
    Values must be JSON types: pass money as integer rupiah or as a string, never a Decimal
    or float (``json`` refuses a Decimal, which is what we want).
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


metadata = sa.MetaData()

#: One row per bot run: who ran, when, how it ended.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("bot", sa.String(64), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime, nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("counts", JSONText, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
    sa.Index("ix_runs_bot_started_at", "bot", "started_at"),
)

#: The exactly-once journal: one row per real-world side effect, keyed so it cannot repeat.
actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("bot", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("payload", JSONText, nullable=False),
    sa.Column("result", JSONText, nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # who may act on the row now, and until when (a dead owner's row is taken over)
    sa.Column("owner_run", sa.String(64), nullable=True),
    sa.Column("owner_host", sa.String(255), nullable=True),
    sa.Column("owner_pid", sa.Integer, nullable=True),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    # the short text the act carries at the portal, searched there before acting
    sa.Column("marker", sa.String(32), nullable=True),
    sa.UniqueConstraint("key", name="uq_actions_key"),
    sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_actions_run_id"),
    sa.CheckConstraint(
        "state IN (" + ", ".join(f"'{state}'" for state in ACTION_STATES) + ")",
        name="ck_actions_state",
    ),
    sa.Index("ix_actions_bot_state", "bot", "state"),
    sa.Index("ix_actions_marker", "marker"),
)

#: Every change of state of every journal row: who (a run, or a person), where, when, why.
action_events = sa.Table(
    "action_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("from_state", sa.String(16), nullable=True),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_action_events_key", "key"),
)
