"""The console's memory: its people, who took which item, and what anyone did there.

Created by migration 0008_konsol; the shapes here must match it.
"""

from __future__ import annotations

import sqlalchemy as sa

from bots.store.models import UtcDateTime, metadata

#: One personal account per person (no shared logins): a role, an argon2 hash, active or not.
konsol_users = sa.Table(
    "konsol_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("login", sa.String(32), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),            # cs | finance | grapari | supervisor
    sa.Column("password_hash", sa.Text, nullable=False),          # argon2id, never the password
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("disabled_at", UtcDateTime, nullable=True),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("login", name="uq_konsol_users_login"),
)

#: Who took an item to work on it ("Ambil"): one row per item, the latest taker.
konsol_takes = sa.Table(
    "konsol_takes", metadata,
    sa.Column("item", sa.String(64), primary_key=True),           # e.g. ESK-7
    sa.Column("login", sa.String(32), nullable=False),
    sa.Column("taken_at", UtcDateTime, nullable=False),
)

#: Every change a person made through the console (and `users` at the terminal): who, when,
#: from where, what, on which object, before → after, and the note. Journaled money actions
#: also have their rows in action_events (actor `person:<login>`); the Audit screen shows both.
konsol_audit = sa.Table(
    "konsol_audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("login", sa.String(64), nullable=False),            # the person (or cli:<os user>)
    sa.Column("address", sa.String(64), nullable=True),           # the client's address
    sa.Column("action", sa.String(40), nullable=False),           # login, login_failed, take, resolve, …
    sa.Column("object", sa.String(255), nullable=True),           # ESK-7, user ani, manual:<line>…
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_konsol_audit_at", "at"),
    sa.Index("ix_konsol_audit_login_action_at", "login", "action", "at"),
    sa.Index("ix_konsol_audit_address_action_at", "address", "action", "at"),
)
