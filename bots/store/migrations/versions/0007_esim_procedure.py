"""The eSIM juklak as written: money in time, refunds a person confirms, deposits seen.

Revision ID: 0007_esim_procedure
Revises: 0006_statement_identity

esim_orders gains: the money received within 3×24 h; since when an order waits for its refund
to be confirmed, who confirmed it, when and why; how much was asked back; the deposit's
deadline as a moment and when the aggregator's deposit (setoran) was seen.
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0007_esim_procedure"
down_revision = "0006_statement_identity"
branch_labels = None
depends_on = None

COLUMNS = (
    ("received_in_time", sa.Integer),
    ("waiting_since", UtcDateTime),
    ("refund_confirmed_by", sa.String(128)),
    ("refund_confirmed_at", UtcDateTime),
    ("refund_note", sa.Text),
    ("refunded_amount", sa.Integer),
    ("deposit_due_at", UtcDateTime),
    ("deposited_at", UtcDateTime),
    ("deposit_reference", sa.String(64)),
)


def upgrade() -> None:
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("esim_orders")}
    with op.batch_alter_table("esim_orders") as batch:
        for name, kind in COLUMNS:
            if name not in existing:  # safe to apply twice
                batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("esim_orders") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
