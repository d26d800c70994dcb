"""Konsol, the web console: people, their roles, and what they did there.

Revision ID: 0008_konsol
Revises: 0007_esim_procedure

konsol_users (personal accounts: role, argon2 hash, active), konsol_takes (who took an item),
konsol_audit (every change a person made in the console: who, when, from where, what, on
which object, before → after, note). Safe to apply twice.
"""

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0008_konsol"
down_revision = "0007_esim_procedure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "konsol_users" not in existing:
        op.create_table(
            "konsol_users",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("login", sa.String(32), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("password_hash", sa.Text, nullable=False),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("created_at", UtcDateTime, nullable=False),
            sa.Column("created_by", sa.String(64), nullable=False),
            sa.Column("disabled_at", UtcDateTime, nullable=True),
            sa.Column("last_login_at", UtcDateTime, nullable=True),
            sa.UniqueConstraint("login", name="uq_konsol_users_login"),
        )
    if "konsol_takes" not in existing:
        op.create_table(
            "konsol_takes",
            sa.Column("item", sa.String(64), primary_key=True),
            sa.Column("login", sa.String(32), nullable=False),
            sa.Column("taken_at", UtcDateTime, nullable=False),
        )
    if "konsol_audit" not in existing:
        op.create_table(
            "konsol_audit",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("at", UtcDateTime, nullable=False),
            sa.Column("login", sa.String(64), nullable=False),
            sa.Column("address", sa.String(64), nullable=True),
            sa.Column("action", sa.String(40), nullable=False),
            sa.Column("object", sa.String(255), nullable=True),
            sa.Column("before", sa.Text, nullable=True),
            sa.Column("after", sa.Text, nullable=True),
            sa.Column("note", sa.Text, nullable=True),
        )
        op.create_index("ix_konsol_audit_at", "konsol_audit", ["at"])
        op.create_index("ix_konsol_audit_login_action_at", "konsol_audit", ["login", "action", "at"])
        op.create_index("ix_konsol_audit_address_action_at", "konsol_audit", ["address", "action", "at"])


def downgrade() -> None:
    op.drop_table("konsol_audit")
    op.drop_table("konsol_takes")
    op.drop_table("konsol_users")
