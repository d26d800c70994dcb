"""eSIM orders (with their batch and activation) and activation batches.

Revision ID: 0004_esim
Revises: 0003_complaints
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0004_esim"
down_revision = "0003_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "esim_orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("submitted_at", UtcDateTime, nullable=False),
        sa.Column("sales_agent", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.Text, nullable=False),
        sa.Column("nik", sa.String(32), nullable=False),
        sa.Column("kk", sa.String(32), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("device", sa.Text, nullable=False),
        sa.Column("package", sa.Text, nullable=False),
        sa.Column("upfront_amount", sa.Integer, nullable=False),
        sa.Column("esim_fee", sa.Integer, nullable=False),
        sa.Column("payment_method", sa.String(64), nullable=False),
        sa.Column("form_completed", sa.Boolean, nullable=False),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("payment_channel", sa.String(64), nullable=True),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("code", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=True),
        sa.Column("refund_reference", sa.String(32), nullable=True),
        sa.Column("refund_requested_at", UtcDateTime, nullable=True),
        sa.Column("activation_status", sa.String(8), nullable=True),
        sa.Column("msisdn", sa.String(16), nullable=True),
        sa.Column("activated_at", UtcDateTime, nullable=True),
        sa.Column("activation_note", sa.Text, nullable=True),
        sa.Column("deposit_due", sa.Date, nullable=True),
    )
    op.create_index("ix_esim_orders_batch_id", "esim_orders", ["batch_id"])
    op.create_table(
        "activation_batches",
        sa.Column("batch_id", sa.String(16), primary_key=True),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("order_count", sa.Integer, nullable=False),
        sa.Column("imported_at", UtcDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("activation_batches")
    op.drop_index("ix_esim_orders_batch_id", "esim_orders")
    op.drop_table("esim_orders")
