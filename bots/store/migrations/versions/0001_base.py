"""Base schema: the runs table and the exactly-once journal of actions (DESIGN §5).

Revision ID: 0001_base
Revises:
"""

import sqlalchemy as sa
from alembic import op

# The two column types are a stable contract of the store (aware UTC datetimes, JSON text);
# a change of representation gets a new type name and a new migration, never an edit of these.
from bots.store.models import JSONText, UtcDateTime

revision = "0001_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
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
    )
    op.create_index("ix_runs_bot_started_at", "runs", ["bot", "started_at"])

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True),
        # The key is what makes a second intent for the same side effect impossible.
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
        sa.UniqueConstraint("key", name="uq_actions_key"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_actions_run_id"),
        sa.CheckConstraint(
            "state IN ('intent', 'in_flight', 'done', 'failed', 'abandoned')",
            name="ck_actions_state",
        ),
    )
    op.create_index("ix_actions_bot_state", "actions", ["bot", "state"])


def downgrade() -> None:
    op.drop_table("actions")
    op.drop_table("runs")
