"""Bon / TOP: agents' requests for saldo on credit, as the bot decided them.

Revision ID: 0011_bon
Revises: 0010_gateway

bon_requests (one row per request: code, reason, WAITING_SUPERVISOR | GRANTED | REFUSED, who
decided, when the supervisor was told), bons_seen (the server's bons as last read, for the
Bon sheet), bon_tickets (deposit tickets that repay a bon). Safe to apply twice.
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import JSONText, UtcDateTime

revision = "0011_bon"
down_revision = "0010_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "bon_requests" not in existing:
        op.create_table(
            "bon_requests",
            sa.Column("request_id", sa.String(64), primary_key=True),
            sa.Column("agent_id", sa.String(64), nullable=False),
            sa.Column("amount", sa.Integer, nullable=False),
            sa.Column("requested_at", UtcDateTime, nullable=False),
            sa.Column("code", sa.String(40), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("status", sa.String(24), nullable=False),
            sa.Column("decided_by", sa.String(128), nullable=True),
            sa.Column("decided_at", UtcDateTime, nullable=True),
            sa.Column("note", sa.Text, nullable=True),
            sa.Column("notified_at", UtcDateTime, nullable=True),
            sa.Column("open_bons", JSONText, nullable=True),
        )
        op.create_index("ix_bon_requests_status", "bon_requests", ["status"])
    if "bons_seen" not in existing:
        op.create_table(
            "bons_seen",
            sa.Column("bon_id", sa.String(64), primary_key=True),
            sa.Column("agent_id", sa.String(64), nullable=False),
            sa.Column("agent_name", sa.Text, nullable=True),
            sa.Column("amount", sa.Integer, nullable=False),
            sa.Column("repaid", sa.Integer, nullable=False),
            sa.Column("granted_at", UtcDateTime, nullable=False),
            sa.Column("seen_at", UtcDateTime, nullable=False),
        )
    if "bon_tickets" not in existing:
        op.create_table(
            "bon_tickets",
            sa.Column("ticket_id", sa.String(64), primary_key=True),
            sa.Column("agent_id", sa.String(64), nullable=False),
            sa.Column("bon_id", sa.String(64), nullable=True),
            sa.Column("amount", sa.Integer, nullable=False),
            sa.Column("seen_at", UtcDateTime, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("bon_tickets")
    op.drop_table("bons_seen")
    op.drop_index("ix_bon_requests_status", table_name="bon_requests")
    op.drop_table("bon_requests")
