"""Konsol, the web console: people, their roles, and what they did there.

Revision ID: 0008_konsol
Revises: 0007_esim_procedure

(placeholder: the console's tables are added by its issue)
"""

revision = "0008_konsol"
down_revision = "0007_esim_procedure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
