"""Bank reconciliation: format-independent line identity (v2), the export and file each line
came from, pending lines reversed, the balances each account's day states, archived files.

Revision ID: 0006_statement_identity
Revises: 0005_owners

Stored fingerprints are recomputed as statement-line/v2 (bots/parsers/model.py): bank,
account, day, the description's letters and digits, amount, direction, occurrence (numbered
here in the order the lines were stored). Escalations and the journal's approval payloads and
manual-credit keys follow the new fingerprints.
"""

import hashlib
import json
import re

import sqlalchemy as sa
from alembic import op

from bots.store.models import UtcDateTime

revision = "0006_statement_identity"
down_revision = "0005_owners"
branch_labels = None
depends_on = None

_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def _v2(bank, account, day, description, amount, direction, occurrence) -> str:
    identity = (bank, account, day or "PEND", _NOT_ALNUM.sub("", description.upper()),
                f"{float(amount):.2f}" if amount is not None else "", direction)
    text = "\x1f".join(("statement-line/v2", *identity, str(occurrence)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("statement_lines") as batch:
        batch.add_column(sa.Column("export_format", sa.String(24), nullable=True))
        batch.add_column(sa.Column("source_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reversed_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("dated_by_bank", sa.Boolean, nullable=True))
    op.create_table(
        "statement_days",
        sa.Column("bank", sa.String(16), primary_key=True),
        sa.Column("account_no", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("opening_balance", sa.String(24), nullable=True),
        sa.Column("closing_balance", sa.String(24), nullable=True),
        sa.Column("export_format", sa.String(24), nullable=True),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("gap", sa.String(24), nullable=True),          # the tie-out's difference when not 0
        sa.Column("gap_notified_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "statement_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("archived_as", sa.Text, nullable=False),
        sa.Column("bank", sa.String(16), nullable=False),
        sa.Column("account_no", sa.String(32), nullable=False),
        sa.Column("export_format", sa.String(24), nullable=False),
        sa.Column("period_start", sa.Date, nullable=True),
        sa.Column("period_end", sa.Date, nullable=True),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
    )
    _refingerprint(op.get_bind())


def _refingerprint(conn) -> None:
    rows = conn.execute(sa.text("SELECT id, fingerprint, bank, account_no, posted_on, pending, description, "
                                "amount, direction FROM statement_lines ORDER BY id")).all()
    seen: dict = {}
    moved: dict[str, str] = {}
    for row in rows:
        day = None if row.posted_on is None else str(row.posted_on)[:10]
        identity = (row.bank, row.account_no, day, _NOT_ALNUM.sub("", row.description.upper()),
                    row.amount, row.direction)
        seen[identity] = occurrence = seen.get(identity, 0) + 1
        new = _v2(row.bank, row.account_no, day, row.description, row.amount, row.direction, occurrence)
        if new != row.fingerprint:
            moved[row.fingerprint] = new
    for old, new in moved.items():  # through a temporary name: a new value may be another row's old one
        conn.execute(sa.text("UPDATE statement_lines SET fingerprint = :tmp WHERE fingerprint = :old"),
                     {"tmp": "~" + new, "old": old})
        conn.execute(sa.text("UPDATE escalations SET fingerprint = :tmp WHERE fingerprint = :old"),
                     {"tmp": "~" + new, "old": old})
    conn.execute(sa.text("UPDATE statement_lines SET fingerprint = substr(fingerprint, 2) WHERE fingerprint LIKE '~%'"))
    conn.execute(sa.text("UPDATE escalations SET fingerprint = substr(fingerprint, 2) WHERE fingerprint LIKE '~%'"))
    for action in conn.execute(sa.text("SELECT id, key, kind, payload FROM actions "
                                       "WHERE kind IN ('approve_ticket', 'manual_credit')")).all():
        payload = json.loads(action.payload)
        key = action.key
        if payload.get("line") in moved:
            payload["line"] = moved[payload["line"]]
        if key.startswith("manual:") and key[7:] in moved:
            key = "manual:" + moved[key[7:]]
        conn.execute(sa.text("UPDATE actions SET key = :key, payload = :payload WHERE id = :id"),
                     {"key": key, "payload": json.dumps(payload, sort_keys=True), "id": action.id})


def downgrade() -> None:
    op.drop_table("statement_files")
    op.drop_table("statement_days")
    with op.batch_alter_table("statement_lines") as batch:
        batch.drop_column("dated_by_bank")
        batch.drop_column("reversed_at")
        batch.drop_column("source_sha256")
        batch.drop_column("export_format")
