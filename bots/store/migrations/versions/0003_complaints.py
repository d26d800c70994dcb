"""Complaints: transactions followed, agents' reports, complaint steps (once per step).

Revision ID: 0003_complaints
Revises: 0002_reconcile
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0003_complaints"
down_revision = "0002_reconcile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followed_transactions",
        sa.Column("trx_id", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("price", sa.Integer, nullable=False),
        sa.Column("supplier", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sn", sa.Text, nullable=True),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("resolution_sn", sa.Text, nullable=True),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "agent_reports",
        sa.Column("complaint_id", sa.String(64), primary_key=True),
        sa.Column("trx_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reported_at", UtcDateTime, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_table(
        "complaint_steps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trx_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("supplier", sa.String(64), nullable=False),
        sa.Column("level", sa.String(8), nullable=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("age_seconds", sa.Integer, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=False),
        sa.Column("reply", sa.Text, nullable=True),
        sa.UniqueConstraint("trx_id", "step", name="uq_complaint_steps_trx_step"),
    )


def downgrade() -> None:
    op.drop_table("complaint_steps")
    op.drop_table("agent_reports")
    op.drop_table("followed_transactions")
