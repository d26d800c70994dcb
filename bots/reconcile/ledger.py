"""The reconciliation's store: statement lines by fingerprint, outcomes, tickets, escalations.

Every method is one short transaction. Lines are keyed by their fingerprint (DESIGN §5), so
overlapping downloads and re-imported files add nothing; a BCA PEND line seen posted later
is updated in place (same row, same outcome), never counted twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.parsers import Statement, pending_match_key, with_occurrences
from bots.reconcile.matching import CreditLine, Outcome
from bots.reconcile.tables import (deposit_tickets, escalations, statement_coverage, statement_days, statement_files,
                                   statement_lines)
from bots.store import Action, Store, insert_for

JAKARTA = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class Added:
    """What reading one statement changed: new lines, lines already known, PEND lines posted."""

    new: int = 0
    known: int = 0
    posted: int = 0
    days: frozenset = frozenset()  # the business days of the lines stored or posted

    def __add__(self, other: "Added") -> "Added":
        return Added(self.new + other.new, self.known + other.known, self.posted + other.posted,
                     self.days | other.days)


@dataclass(frozen=True)
class Escalation:
    id: int
    fingerprint: str
    code: str
    reason: str
    candidates: list
    status: str
    created_at: datetime
    notified_at: datetime | None
    resolved_at: datetime | None
    agent_id: str | None
    note: str | None
    bank: str
    account_no: str
    day: date
    description: str
    amount: Decimal
    posted_at: datetime | None = None   # the transfer's moment when the export gives one


def _pending_key(line) -> str:
    return hashlib.sha256("|".join(map(str, pending_match_key(line))).encode()).hexdigest()[:32]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=JAKARTA)


class Ledger:
    def __init__(self, store: Store):
        self.store = store

    # -- statement lines --------------------------------------------------------------------------
    def fingerprints(self, statement: Statement) -> list[tuple[object, str]]:
        return with_occurrences(statement.lines)

    def unknown(self, statement: Statement) -> list[tuple[object, str]]:
        """The statement's lines the store does not know yet (read only: for dry runs)."""
        pairs = self.fingerprints(statement)
        with self.store.read() as conn:
            known = self._known(conn, [fp for _, fp in pairs])
        return [(line, fp) for line, fp in pairs if fp not in known]

    @staticmethod
    def _known(conn, fps: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(fps), 500):
            chunk = fps[start:start + 500]
            rows = conn.execute(sa.select(statement_lines.c.fingerprint, statement_lines.c.pending_fingerprint).where(
                sa.or_(statement_lines.c.fingerprint.in_(chunk), statement_lines.c.pending_fingerprint.in_(chunk))))
            for fp, pending_fp in rows:
                found |= {fp, pending_fp}
        return found

    def add(self, statement: Statement, source: str, run_id: str, now: datetime,
            sha256: str | None = None) -> Added:
        """Store the statement's new lines; known ones are skipped, posted PEND lines updated.

        A pending line the bank does not date (no transaction day in its description) is dated
        by the day it was seen (`dated_by_bank` False): it credits only once posted when seen
        in the small hours (see `undated_pending_waits`)."""
        pairs = self.fingerprints(statement)
        added = Added()
        with self.store.write() as conn:
            known = self._known(conn, [fp for _, fp in pairs])
            for line, fp in pairs:
                if fp in known:
                    added += Added(known=1)
                    continue
                key = _pending_key(line)
                values = dict(
                    bank=line.bank, account_no=line.account_no,
                    day=line.posted_on or now.astimezone(JAKARTA).date(), posted_on=line.posted_on,
                    posted_at=_aware(line.posted_at), description=line.description, amount=str(line.amount),
                    direction=line.direction, balance=None if line.balance is None else str(line.balance),
                    pending=line.pending, pending_key=key, dated_by_bank=line.posted_on is not None,
                    export_format=statement.format, source_sha256=sha256)
                waiting = None if line.pending else conn.execute(
                    sa.select(statement_lines.c.id, statement_lines.c.fingerprint).where(
                        statement_lines.c.pending_key == key, statement_lines.c.pending.is_(True))
                    .order_by(statement_lines.c.id).limit(1)).first()
                if waiting is not None:  # the PEND line we already have, now posted: same line (its
                    # escalation follows the new fingerprint: ON UPDATE CASCADE)
                    conn.execute(statement_lines.update().where(statement_lines.c.id == waiting.id).values(
                        fingerprint=fp, pending_fingerprint=waiting.fingerprint, **values))
                    added += Added(posted=1, days=frozenset({values["day"]}))
                elif conn.execute(insert_for(conn, statement_lines).values(
                        fingerprint=fp, source=source, first_seen_at=now, run_id=run_id, **values)
                        .on_conflict_do_nothing(index_elements=["fingerprint"])
                        .returning(statement_lines.c.id)).first() is None:
                    added += Added(known=1)  # another host stored it since we looked
                else:
                    added += Added(new=1, days=frozenset({values["day"]}))
                known.add(fp)
        return added

    def undecided(self) -> list[CreditLine]:
        with self.store.read() as conn:
            rows = conn.execute(sa.select(statement_lines).where(statement_lines.c.code.is_(None))
                                .order_by(statement_lines.c.id)).all()
        return [self._credit_line(r) for r in rows]

    def still_pending(self, bank: str, account_no: str) -> list:
        """The account's stored lines still pending (not posted, not reversed)."""
        c = statement_lines.c
        with self.store.read() as conn:
            return conn.execute(sa.select(statement_lines).where(
                c.bank == bank, c.account_no == account_no, c.pending.is_(True), c.reversed_at.is_(None))
                .order_by(c.id)).all()

    def reverse(self, fingerprint: str, code: str, reason: str, now: datetime) -> None:
        """A pending line gone without posting: its outcome becomes `code`, its credit (if any) named."""
        with self.store.write() as conn:
            conn.execute(statement_lines.update().where(statement_lines.c.fingerprint == fingerprint).values(
                reversed_at=now, code=code, reason=reason, decided_at=now))

    def reopen_escalation(self, fingerprint: str, code: str, reason: str, now: datetime) -> int:
        """The line's escalation with a new code (created, or an existing one reopened as it)."""
        with self.store.write() as conn:
            found = self._escalation_of(conn, fingerprint, code, reason, [], now)
            conn.execute(escalations.update().where(escalations.c.id == found).values(
                code=code, reason=reason, status="OPEN", notified_at=None, resolved_at=None))
            return found

    # -- statement files and the balances they state ----------------------------------------------
    def archive(self, sha256: str, file_name: str, archived_as: str, statement: Statement, now: datetime) -> None:
        with self.store.write() as conn:  # a file archived before (by any host) stays as it was
            conn.execute(insert_for(conn, statement_files).values(
                sha256=sha256, file_name=file_name, archived_as=archived_as, bank=statement.bank,
                account_no=statement.account_no, export_format=statement.format,
                period_start=statement.period_start, period_end=statement.period_end, first_seen_at=now)
                .on_conflict_do_nothing(index_elements=["sha256"]))

    def files(self) -> dict[str, str]:
        """sha256 → where the file is archived."""
        with self.store.read() as conn:
            return dict(conn.execute(sa.select(statement_files.c.sha256, statement_files.c.archived_as)).all())

    def save_days(self, bank: str, account_no: str, days: dict, fmt: str, sha256: str | None,
                  now: datetime) -> list[date]:
        """The (opening, closing) balance the bank states for each day (the freshest file wins).

        Returns the days whose opening balance moved since last read: something before them
        changed (a back-dated posting), to be read again."""
        c = statement_days.c
        moved = []
        with self.store.write() as conn:
            for day, (opening, closing) in days.items():
                before = conn.execute(sa.select(c.opening_balance).where(
                    c.bank == bank, c.account_no == account_no, c.day == day).with_for_update()).scalar()
                if before is not None and opening is not None and Decimal(before) != opening:
                    moved.append(day)
                values = dict(opening_balance=None if opening is None else str(opening),
                              closing_balance=None if closing is None else str(closing),
                              export_format=fmt, source_sha256=sha256, updated_at=now)
                conn.execute(insert_for(conn, statement_days).values(bank=bank, account_no=account_no, day=day, **values)
                             .on_conflict_do_update(index_elements=["bank", "account_no", "day"], set_=values))
        return moved

    def account_days(self, bank: str, account_no: str) -> dict:
        """day → (opening, closing) the bank stated, as Decimals (None where not stated)."""
        c = statement_days.c
        with self.store.read() as conn:
            rows = conn.execute(sa.select(c.day, c.opening_balance, c.closing_balance).where(
                c.bank == bank, c.account_no == account_no)).all()
        return {r.day: (None if r.opening_balance is None else Decimal(r.opening_balance),
                        None if r.closing_balance is None else Decimal(r.closing_balance)) for r in rows}

    def day_amounts(self, bank: str, account_no: str, day: date) -> list[tuple[Decimal, str]]:
        """(amount, direction) of the account's posted lines of the day, reversed ones left out."""
        c = statement_lines.c
        with self.store.read() as conn:
            rows = conn.execute(sa.select(c.amount, c.direction).where(
                c.bank == bank, c.account_no == account_no, c.day == day, c.pending.is_(False),
                c.reversed_at.is_(None))).all()
        return [(Decimal(a), d) for a, d in rows]

    def set_gap(self, bank: str, account_no: str, day: date, gap: Decimal | None) -> bool:
        """Record the day's tie-out difference (None: it ties); True when a new gap opened."""
        c = statement_days.c
        with self.store.write() as conn:
            old = conn.execute(sa.select(c.gap).where(c.bank == bank, c.account_no == account_no, c.day == day)).scalar()
            new = None if gap is None or gap == 0 else str(gap)
            if old == new:
                return False
            conn.execute(statement_days.update().where(c.bank == bank, c.account_no == account_no, c.day == day)
                         .values(gap=new, gap_notified_at=None))
            return new is not None

    def gaps(self) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(statement_days).where(statement_days.c.gap.is_not(None))
                                .order_by(statement_days.c.day)).all()

    def gap_notified(self, bank: str, account_no: str, day: date, now: datetime) -> None:
        c = statement_days.c
        with self.store.write() as conn:
            conn.execute(statement_days.update().where(c.bank == bank, c.account_no == account_no, c.day == day)
                         .values(gap_notified_at=now))

    def days_of(self, day: date) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(statement_days).where(statement_days.c.day == day)
                                .order_by(statement_days.c.bank, statement_days.c.account_no)).all()

    def touched_days(self, run_id: str) -> set[date]:
        """The business days of the lines a run stored or decided (their workbooks are rewritten)."""
        with self.store.read() as conn:
            return set(conn.execute(sa.select(statement_lines.c.day).where(
                statement_lines.c.run_id == run_id).distinct()).scalars())

    @staticmethod
    def _credit_line(row) -> CreditLine:
        return CreditLine(row.fingerprint, row.bank, row.account_no, Decimal(row.amount), row.direction,
                          row.posted_on, row.posted_at.astimezone(JAKARTA) if row.posted_at else None,
                          row.first_seen_at, bool(row.pending))

    def credit_line(self, fingerprint: str) -> CreditLine | None:
        with self.store.read() as conn:
            row = conn.execute(sa.select(statement_lines).where(statement_lines.c.fingerprint == fingerprint)).first()
        return None if row is None else self._credit_line(row)

    def line_day(self, fingerprint: str) -> date | None:
        with self.store.read() as conn:
            return conn.execute(sa.select(statement_lines.c.day).where(
                statement_lines.c.fingerprint == fingerprint)).scalar()

    def record(self, outcome: Outcome, now: datetime) -> bool:
        """Write a line's outcome once; returns False if the line already had one."""
        with self.store.write() as conn:
            done = conn.execute(statement_lines.update().where(
                statement_lines.c.fingerprint == outcome.fingerprint, statement_lines.c.code.is_(None)).values(
                code=outcome.code, reason=outcome.reason, ticket_id=outcome.ticket_id, agent_id=outcome.agent_id,
                candidates=list(outcome.candidates), decided_at=now))
            return done.rowcount == 1

    def approvals(self, *, state: str | None = None, undecided_only: bool = False) -> list[Action]:
        """The journal's ticket approvals (optionally: whose line has no outcome yet)."""
        found = self.store.actions(kind="approve_ticket", state=state or None)  # one query, however many
        if undecided_only:
            undecided = {line.fingerprint for line in self.undecided()}
            found = [a for a in found if a.payload["line"] in undecided]
        return found

    def claimed_tickets(self) -> set[str]:
        """Tickets a line of ours has paid or is paying (any approval not failed or refused)."""
        return {a.payload["ticket_id"] for a in self.approvals() if a.state not in ("failed", "refused")}

    def lines_of(self, day: date) -> list:
        """The day's statement lines with what the workbook shows of them (not their identity
        columns: a 100,000-line day is read whole, and memory is the limit there)."""
        c = statement_lines.c
        shown = (c.id, c.bank, c.account_no, c.day, c.posted_on, c.posted_at, c.description, c.amount, c.direction,
                 c.balance, c.pending, c.source, c.code, c.reason, c.ticket_id, c.agent_id, c.first_seen_at,
                 c.source_sha256, c.export_format, c.reversed_at)
        with self.store.read() as conn:
            return conn.execute(sa.select(*shown).where(statement_lines.c.day == day)
                                .order_by(statement_lines.c.bank, statement_lines.c.account_no,
                                          statement_lines.c.posted_at, statement_lines.c.id)).all()

    # -- coverage ----------------------------------------------------------------------------------
    def covered_until(self, bank: str, account_no: str) -> date | None:
        with self.store.read() as conn:
            return conn.execute(sa.select(statement_coverage.c.covered_until).where(
                statement_coverage.c.bank == bank, statement_coverage.c.account_no == account_no)).scalar()

    def cover(self, bank: str, account_no: str, until: date, now: datetime) -> None:
        with self.store.write() as conn:
            conn.execute(insert_for(conn, statement_coverage).values(
                bank=bank, account_no=account_no, covered_until=until, updated_at=now).on_conflict_do_update(
                index_elements=["bank", "account_no"], set_=dict(covered_until=until, updated_at=now)))

    # -- tickets -------------------------------------------------------------------------------------
    def save_tickets(self, tickets, now: datetime) -> None:
        """Remember the tickets as the server shows them now: new ones inserted, known ones updated,
        each group in one statement (a run reads days of tickets every two minutes)."""
        rows = {t.ticket_id: dict(agent_id=t.agent_id, amount=t.amount, bank=t.bank, account_no=t.account_no,
                                  created_at=t.created_at, expires_at=t.expires_at, status=t.status,
                                  approved_at=t.approved_at, seen_at=now) for t in tickets}
        with self.store.write() as conn:
            known = set()
            ids = list(rows)
            for start in range(0, len(ids), 500):
                known |= set(conn.execute(sa.select(deposit_tickets.c.ticket_id).where(
                    deposit_tickets.c.ticket_id.in_(ids[start:start + 500]))).scalars())
            new = [{"ticket_id": tid, **values} for tid, values in rows.items() if tid not in known]
            seen = [{"b_ticket_id": tid, **values} for tid, values in rows.items() if tid in known]
            if new:  # (a ticket another host has just stored is the same server row)
                conn.execute(insert_for(conn, deposit_tickets).on_conflict_do_nothing(index_elements=["ticket_id"]),
                             new)
            if seen:
                conn.execute(deposit_tickets.update().where(
                    deposit_tickets.c.ticket_id == sa.bindparam("b_ticket_id")), seen)

    def open_tickets(self) -> list:
        with self.store.read() as conn:
            return conn.execute(sa.select(deposit_tickets).where(deposit_tickets.c.status == "OPEN")
                                .order_by(deposit_tickets.c.created_at)).all()

    # -- escalations ------------------------------------------------------------------------------------
    def escalate(self, outcome: Outcome, now: datetime) -> int:
        """The line's escalation (created once; the same id every time after)."""
        with self.store.write() as conn:
            return self._escalation_of(conn, outcome.fingerprint, outcome.code, outcome.reason,
                                       list(outcome.candidates), now)

    @staticmethod
    def _escalation_of(conn, fingerprint: str, code: str, reason: str, candidates: list, now: datetime) -> int:
        """The id of the line's escalation, created OPEN if it has none. Looked up first (an
        insert that finds the row there would still use up an id on PostgreSQL, and people
        type these ids); created with ON CONFLICT, as another host may create it at the same time."""
        def found():
            return conn.execute(sa.select(escalations.c.id).where(escalations.c.fingerprint == fingerprint)).scalar()

        return found() or conn.execute(insert_for(conn, escalations).values(
            fingerprint=fingerprint, code=code, reason=reason, candidates=candidates, status="OPEN", created_at=now)
            .on_conflict_do_nothing(index_elements=["fingerprint"]).returning(escalations.c.id)).scalar() or found()

    def mark_notified(self, escalation_id: int, now: datetime) -> None:
        with self.store.write() as conn:
            conn.execute(escalations.update().where(escalations.c.id == escalation_id).values(notified_at=now))

    def close_escalation(self, escalation_id: int, status: str, now: datetime, agent_id: str | None,
                         note: str) -> None:
        with self.store.write() as conn:
            conn.execute(escalations.update().where(escalations.c.id == escalation_id).values(
                status=status, resolved_at=now, agent_id=agent_id, note=note))

    def escalations(self, *, status: str | None = None, escalation_id: int | None = None) -> list[Escalation]:
        query = sa.select(escalations, statement_lines.c.bank, statement_lines.c.account_no, statement_lines.c.day,
                          statement_lines.c.description, statement_lines.c.amount, statement_lines.c.posted_at).join(
            statement_lines, statement_lines.c.fingerprint == escalations.c.fingerprint).order_by(escalations.c.id)
        if status:
            query = query.where(escalations.c.status == status)
        if escalation_id is not None:
            query = query.where(escalations.c.id == escalation_id)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        return [Escalation(r.id, r.fingerprint, r.code, r.reason, r.candidates, r.status, r.created_at,
                           r.notified_at, r.resolved_at, r.agent_id, r.note, r.bank, r.account_no, r.day,
                           r.description, Decimal(r.amount), _aware(r.posted_at)) for r in rows]
