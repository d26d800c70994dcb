"""check_pending_tx's memory: transactions followed, agents' reports, complaint steps.

Created by migration 0003_complaints; the shapes here must match it.
"""

from __future__ import annotations

import sqlalchemy as sa

from bots.store.models import UtcDateTime, metadata

#: Every transaction the bot has followed (pending once, or reported by an agent).
followed_transactions = sa.Table(
    "followed_transactions", metadata,
    sa.Column("trx_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("destination", sa.String(32), nullable=False),
    sa.Column("price", sa.Integer, nullable=False),
    sa.Column("supplier", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),       # as the server last showed it
    sa.Column("sn", sa.Text, nullable=True),
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("resolution", sa.String(16), nullable=True),    # SUKSES | GAGAL once final
    sa.Column("resolution_sn", sa.Text, nullable=True),
    sa.Column("resolved_at", UtcDateTime, nullable=True),     # when we first saw it final
)

#: Agents' complaints about a transaction (PRODUCT_NOT_RECEIVED, WRONG_NUMBER).
agent_reports = sa.Table(
    "agent_reports", metadata,
    sa.Column("complaint_id", sa.String(64), primary_key=True),
    sa.Column("trx_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("reported_at", UtcDateTime, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
)

#: One row per (transaction, step): the complaint ladder's memory, never two of a step.
complaint_steps = sa.Table(
    "complaint_steps", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trx_id", sa.String(64), nullable=False),
    sa.Column("step", sa.String(40), nullable=False),
    sa.Column("supplier", sa.String(64), nullable=False),
    sa.Column("level", sa.String(8), nullable=True),
    sa.Column("reference", sa.String(32), nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("age_seconds", sa.Integer, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=False),
    sa.Column("reply", sa.Text, nullable=True),
    sa.UniqueConstraint("trx_id", "step", name="uq_complaint_steps_trx_step"),
)
