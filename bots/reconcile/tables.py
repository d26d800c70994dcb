"""The reconciliation's memory: statement lines with their outcome, tickets seen, escalations.

Created by migrations 0002_reconcile and 0006_statement_identity; the shapes here must match them.
"""

from __future__ import annotations

import sqlalchemy as sa

from bots.store.models import JSONText, UtcDateTime, metadata

#: Every statement line (mutasi) ever read, once, by its fingerprint (DESIGN §5).
statement_lines = sa.Table(
    "statement_lines", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # a BCA PEND line keeps its pending fingerprint here once it is seen posted
    sa.Column("pending_fingerprint", sa.String(64), nullable=True),
    sa.Column("pending_key", sa.String(64), nullable=True),
    sa.Column("bank", sa.String(16), nullable=False),
    sa.Column("account_no", sa.String(32), nullable=False),
    sa.Column("day", sa.Date, nullable=False),               # the business day it belongs to (WIB)
    sa.Column("posted_on", sa.Date, nullable=True),
    sa.Column("posted_at", UtcDateTime, nullable=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("amount", sa.String(24), nullable=False),        # exact decimal as text: 500123.00
    sa.Column("direction", sa.String(2), nullable=False),
    sa.Column("balance", sa.String(24), nullable=True),
    sa.Column("pending", sa.Boolean, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("code", sa.String(40), nullable=True),          # the outcome; NULL until decided
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("ticket_id", sa.String(64), nullable=True),
    sa.Column("agent_id", sa.String(64), nullable=True),
    sa.Column("candidates", JSONText, nullable=True),
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("export_format", sa.String(24), nullable=True),   # the export it was first read from
    sa.Column("source_sha256", sa.String(64), nullable=True),   # that file, archived under reports/
    sa.Column("reversed_at", UtcDateTime, nullable=True),       # a PEND line gone without posting
    sa.Column("dated_by_bank", sa.Boolean, nullable=True),      # False: a PEND line dated by when seen
    sa.UniqueConstraint("fingerprint", name="uq_statement_lines_fingerprint"),
    sa.Index("ix_statement_lines_day", "day"),
    sa.Index("ix_statement_lines_pending_key", "pending_key"),
)

#: The deposit tickets as last seen on the transaction server.
deposit_tickets = sa.Table(
    "deposit_tickets", metadata,
    sa.Column("ticket_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("bank", sa.String(16), nullable=False),
    sa.Column("account_no", sa.String(32), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("approved_at", UtcDateTime, nullable=True),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)

#: One escalation per escalated statement line, never two (finance closes it by hand).
escalations = sa.Table(
    "escalations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("candidates", JSONText, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),       # OPEN | RESOLVED | REJECTED
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("notified_at", UtcDateTime, nullable=True),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("agent_id", sa.String(64), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.UniqueConstraint("fingerprint", name="uq_escalations_fingerprint"),
    sa.ForeignKeyConstraint(["fingerprint"], ["statement_lines.fingerprint"], name="fk_escalations_line",
                            onupdate="CASCADE"),
)

#: How far each account's statement has been read (the next download starts before it).
statement_coverage = sa.Table(
    "statement_coverage", metadata,
    sa.Column("bank", sa.String(16), primary_key=True),
    sa.Column("account_no", sa.String(32), primary_key=True),
    sa.Column("covered_until", sa.Date, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

#: The balances a bank's export (or page) states for an account's day: the tie-out's figures.
statement_days = sa.Table(
    "statement_days", metadata,
    sa.Column("bank", sa.String(16), primary_key=True),
    sa.Column("account_no", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("opening_balance", sa.String(24), nullable=True),
    sa.Column("closing_balance", sa.String(24), nullable=True),
    sa.Column("export_format", sa.String(24), nullable=True),
    sa.Column("source_sha256", sa.String(64), nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("gap", sa.String(24), nullable=True),          # STATEMENT_GAP: the difference that stayed
    sa.Column("gap_notified_at", UtcDateTime, nullable=True),
)

#: Every statement file read, archived under reports/ by its sha256 (finance opens the bank's own file).
statement_files = sa.Table(
    "statement_files", metadata,
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

#: Every payment read at the payment gateway (VA / retail), with its outcome (migration 0010_gateway).
#: An escalated one is also a statement line (bank 'gateway', `fingerprint`), as every escalation is.
gateway_payments = sa.Table(
    "gateway_payments", metadata,
    sa.Column("payment_id", sa.String(64), primary_key=True),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),            # gross, paid by the agent
    sa.Column("fee", sa.Integer, nullable=False),               # the gateway's
    sa.Column("status", sa.String(16), nullable=False),         # as the gateway last showed it
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("paid_at", UtcDateTime, nullable=True),
    sa.Column("settled_at", UtcDateTime, nullable=True),
    sa.Column("day", sa.Date, nullable=False),                  # paid (else created), WIB: its workbook
    sa.Column("code", sa.String(40), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("agent_id", sa.String(64), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=True),     # its statement line, when escalated
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Index("ix_gateway_payments_day", "day"),
)

#: The gateway's own totals of what was paid each day (its ringkasan harian), last read: the tie-out.
gateway_days = sa.Table(
    "gateway_days", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("fee", sa.Integer, nullable=False),
    sa.Column("net", sa.Integer, nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=False),
)

#: Bon / TOP requests as the bot decided them (migration 0011_bon): waiting for the supervisor,
#: granted or refused, by whom; one row per request, never two.
bon_requests = sa.Table(
    "bon_requests", metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("requested_at", UtcDateTime, nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),     # WAITING_SUPERVISOR | GRANTED | REFUSED
    sa.Column("decided_by", sa.String(128), nullable=True),  # run:<id> or person:<login>
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("notified_at", UtcDateTime, nullable=True),
    sa.Column("open_bons", JSONText, nullable=True),          # [[bon_id, outstanding], ...] when decided
)

#: The bons on the server's books as last read, and the agents' names (the Bon sheet's rows).
bons_seen = sa.Table(
    "bons_seen", metadata,
    sa.Column("bon_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("agent_name", sa.Text, nullable=True),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("repaid", sa.Integer, nullable=False),
    sa.Column("granted_at", UtcDateTime, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)

#: Deposit tickets that repay a bon (purpose BON): their approval is a repayment, not a credit.
bon_tickets = sa.Table(
    "bon_tickets", metadata,
    sa.Column("ticket_id", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("bon_id", sa.String(64), nullable=True),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)
