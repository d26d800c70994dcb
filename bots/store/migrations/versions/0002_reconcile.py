"""Reconciliation: statement lines and their outcomes, tickets seen, escalations, coverage.

Revision ID: 0002_reconcile
Revises: 0001_base
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import JSONText, UtcDateTime

revision = "0002_reconcile"
down_revision = "0001_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statement_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("pending_fingerprint", sa.String(64), nullable=True),
        sa.Column("pending_key", sa.String(64), nullable=True),
        sa.Column("bank", sa.String(16), nullable=False),
        sa.Column("account_no", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=True),
        sa.Column("posted_at", UtcDateTime, nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("amount", sa.String(24), nullable=False),
        sa.Column("direction", sa.String(2), nullable=False),
        sa.Column("balance", sa.String(24), nullable=True),
        sa.Column("pending", sa.Boolean, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("ticket_id", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("candidates", JSONText, nullable=True),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("fingerprint", name="uq_statement_lines_fingerprint"),
    )
    op.create_index("ix_statement_lines_day", "statement_lines", ["day"])
    op.create_index("ix_statement_lines_pending_key", "statement_lines", ["pending_key"])
    op.create_table(
        "deposit_tickets",
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("bank", sa.String(16), nullable=False),
        sa.Column("account_no", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_at", UtcDateTime, nullable=True),
        sa.Column("seen_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("candidates", JSONText, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("notified_at", UtcDateTime, nullable=True),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.UniqueConstraint("fingerprint", name="uq_escalations_fingerprint"),
        sa.ForeignKeyConstraint(["fingerprint"], ["statement_lines.fingerprint"], name="fk_escalations_line",
                                onupdate="CASCADE"),
    )
    op.create_table(
        "statement_coverage",
        sa.Column("bank", sa.String(16), primary_key=True),
        sa.Column("account_no", sa.String(32), primary_key=True),
        sa.Column("covered_until", sa.Date, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("statement_coverage")
    op.drop_table("escalations")
    op.drop_table("deposit_tickets")
    op.drop_index("ix_statement_lines_pending_key", "statement_lines")
    op.drop_index("ix_statement_lines_day", "statement_lines")
    op.drop_table("statement_lines")
