"""Shared outputs: workbooks, batch files and failure captures kept in the store.

Revision ID: 0009_outputs
Revises: 0008_konsol

(placeholder: the tables are added by the many-hosts issue)
"""

revision = "0009_outputs"
down_revision = "0008_konsol"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
