"""esim_activation_queue's memory: orders with their decision, batch and activation; batches.

Created by migration 0004_esim (columns added by 0007_esim_procedure). NIK and KK live here (and in the batch workbook GraPARI
needs), nowhere else. An order's `batch_id` is set once, guarded in SQL: one batch, ever.
"""

from __future__ import annotations

import sqlalchemy as sa

from bots.store.models import UtcDateTime, metadata

esim_orders = sa.Table(
    "esim_orders", metadata,
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
    sa.Column("code", sa.String(32), nullable=True),          # the last decision
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("final", sa.Boolean, nullable=False),           # batched, refunded or closed: decided for good
    sa.Column("batch_id", sa.String(16), nullable=True),
    sa.Column("refund_reference", sa.String(32), nullable=True),
    sa.Column("refund_requested_at", UtcDateTime, nullable=True),
    sa.Column("activation_status", sa.String(8), nullable=True),   # AKTIF | GAGAL, from GraPARI
    sa.Column("msisdn", sa.String(16), nullable=True),
    sa.Column("activated_at", UtcDateTime, nullable=True),
    sa.Column("activation_note", sa.Text, nullable=True),
    sa.Column("deposit_due", sa.Date, nullable=True),
    # 0007_esim_procedure
    sa.Column("received_in_time", sa.Integer, nullable=True),   # paid within 3×24 h of submission
    sa.Column("waiting_since", UtcDateTime, nullable=True),     # waiting for a refund confirmation since
    sa.Column("refund_confirmed_by", sa.String(128), nullable=True),
    sa.Column("refund_confirmed_at", UtcDateTime, nullable=True),
    sa.Column("refund_note", sa.Text, nullable=True),
    sa.Column("refunded_amount", sa.Integer, nullable=True),   # asked back from the aggregator in all
    sa.Column("deposit_due_at", UtcDateTime, nullable=True),
    sa.Column("deposited_at", UtcDateTime, nullable=True),      # the aggregator's deposit seen
    sa.Column("deposit_reference", sa.String(64), nullable=True),
)

activation_batches = sa.Table(
    "activation_batches", metadata,
    sa.Column("batch_id", sa.String(16), primary_key=True),    # YYYYMMDD-NN
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),          # intent | done
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("order_count", sa.Integer, nullable=False),
    sa.Column("imported_at", UtcDateTime, nullable=True),
)
