"""One owner per money action: owner and lease on each journal row, the marker it carries,
two more states (refused, in_doubt), and every transition kept as an event.

Revision ID: 0005_owners
Revises: 0004_esim
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0005_owners"
down_revision = "0004_esim"
branch_labels = None
depends_on = None

_OLD_STATES = "state IN ('intent', 'in_flight', 'done', 'failed', 'abandoned')"
_NEW_STATES = "state IN ('intent', 'in_flight', 'done', 'failed', 'abandoned', 'refused', 'in_doubt')"


def upgrade() -> None:
    # SQLite changes a CHECK constraint only by copying the table: batch mode does that.
    with op.batch_alter_table("actions", recreate="always") as batch:
        batch.drop_constraint("ck_actions_state", type_="check")
        batch.create_check_constraint("ck_actions_state", _NEW_STATES)
        batch.add_column(sa.Column("owner_run", sa.String(64), nullable=True))
        batch.add_column(sa.Column("owner_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("owner_pid", sa.Integer, nullable=True))
        batch.add_column(sa.Column("lease_until", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("marker", sa.String(32), nullable=True))
    op.create_index("ix_actions_marker", "actions", ["marker"])
    # Before this revision a ticket approval the server refused (expired, approved by another)
    # ended `failed`; `failed` now means "not done, try again", so those become `refused`.
    op.execute("UPDATE actions SET state = 'refused' WHERE state = 'failed' AND kind = 'approve_ticket'")
    op.create_table(
        "action_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_action_events_key", "action_events", ["key"])


def downgrade() -> None:
    op.drop_table("action_events")
    op.drop_index("ix_actions_marker", "actions")
    with op.batch_alter_table("actions", recreate="always") as batch:
        for column in ("marker", "lease_until", "owner_pid", "owner_host", "owner_run"):
            batch.drop_column(column)
        batch.drop_constraint("ck_actions_state", type_="check")
        batch.create_check_constraint("ck_actions_state", _OLD_STATES)
