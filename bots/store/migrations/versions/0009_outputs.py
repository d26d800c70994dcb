"""Shared outputs: workbooks, batch files and failure captures kept in the store.

Revision ID: 0009_outputs
Revises: 0008_konsol

One row per distinct content of a file (kind, name, sha256): a workbook rewritten with the
same bytes is one row, a day's workbook rewritten with a late line is a second row (the
newest is served). Any host, and the console, serves them from here (bots/outputs.py).
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0009_outputs"
down_revision = "0008_konsol"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("outputs"):  # safe to apply twice
        return
    op.create_table(
        "outputs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),      # workbook, batch, capture
        sa.Column("name", sa.String(255), nullable=False),     # the file's name, e.g. rekonsiliasi-2026-11-23.xlsx
        sa.Column("path", sa.Text, nullable=False),            # where it was written, relative to reports_dir
        sa.Column("day", sa.Date, nullable=True),              # the business day it is about, when it says
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.UniqueConstraint("kind", "name", "sha256", name="uq_outputs_kind_name_sha256"),
    )
    op.create_index("ix_outputs_name", "outputs", ["name", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outputs_name", table_name="outputs")
    op.drop_table("outputs")
