"""Payments read at the payment gateway (VA / retail deposits), with their outcome, and the
gateway's own totals of each day (the tie-out).

Revision ID: 0010_gateway
Revises: 0009_outputs

One row per gateway payment id. An escalated payment is also stored as a statement line
(bank 'gateway', account its channel), so that the escalations table keeps its one foreign
key and finance closes it like any other escalation (bots/reconcile/gateway_act.py).
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0010_gateway"
down_revision = "0009_outputs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("gateway_payments"):  # safe to apply twice
        return
    op.create_table(
        "gateway_payments",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("paid_at", UtcDateTime, nullable=True),
        sa.Column("settled_at", UtcDateTime, nullable=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("code", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("seen_at", UtcDateTime, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_gateway_payments_day", "gateway_payments", ["day"])
    op.create_table(
        "gateway_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("net", sa.Integer, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_days")
    op.drop_index("ix_gateway_payments_day", table_name="gateway_payments")
    op.drop_table("gateway_payments")
