"""Komplain: the open complaint cases, each with its ladder step and the next one due; and the
supervisor's view (cases past the last rung, with their daily `[SPV-…]` reminders).

    cases = open_cases(settings, store)            # newest transaction first
    spv = supervisor_cases(settings, store)        # past the last rung (supervisor told / PNR hard)

The next step is the ladder's own answer (bots/complaints/ladder.py ``case_steps``), asked at
the moments a rung can fall due (its thresholds from `[check_pending_tx]`): what the store
knows, without the supplier's latest answer (the next run reads it, and may close the case
instead). ``due_at`` now or earlier means the next run of check_pending_tx takes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from bots.check_pending_tx import options, supplier_names
from bots.clock import clock_for
from bots.complaints.ladder import (HARD, PNR_HARD, SERVER_FIX, SUPERVISOR, AgentReport, Case, PendingTx,
                                    Thresholds, case_steps, last_complaint)
from bots.complaints.tables import agent_reports, complaint_steps, followed_transactions
from bots.portals.supplier import real_sn
from bots.settings import Settings
from bots.store import Store

__all__ = ["AgentReportRow", "ComplaintCase", "NextStep", "StepTaken", "next_step", "open_cases", "supervisor_cases"]

_JUST_AFTER = timedelta(seconds=1)  # the ladder's thresholds are "more than": ask a second later


@dataclass(frozen=True)
class StepTaken:
    step: str                    # complaint, hard_complaint, supervisor, pnr_followup_2, …
    code: str                    # COMPLAINT_SENT, … (the workbook's Kode)
    reason: str                  # Indonesian (the workbook's Alasan)
    level: str | None            # normal | hard | None (a notification or a record)
    reference: str               # our marker at the supplier / in the message
    sent_at: datetime
    reply: str | None            # the supplier's reply: text from outside, show it as text


@dataclass(frozen=True)
class NextStep:
    step: str
    code: str
    reason: str
    due_at: datetime             # now or earlier: the next run takes it


@dataclass(frozen=True)
class AgentReportRow:
    complaint_id: str
    kind: str                    # PRODUCT_NOT_RECEIVED | WRONG_NUMBER
    reported_at: datetime
    note: str | None


@dataclass(frozen=True)
class ComplaintCase:
    trx_id: str
    agent_id: str
    product: str
    destination: str
    price: int
    supplier: str                # code
    supplier_name: str           # as the workbook shows it
    created_at: datetime
    status: str                  # on the transaction server, as last read
    sn: str | None
    reports: list[AgentReportRow] = field(default_factory=list)
    steps: list[StepTaken] = field(default_factory=list)
    next_step: NextStep | None = None
    past_last_rung: bool = False # the supervisor was told (pending) or the PNR hard complaint sent
    reminders: int = 0           # daily supervisor reminders sent

    @property
    def last_step(self) -> StepTaken | None:
        return self.steps[-1] if self.steps else None


def open_cases(settings: Settings, store: Store, now: datetime | None = None) -> list[ComplaintCase]:
    """Every case still open (no final answer recorded, or the server still PENDING after one
    and CS not told yet), newest transaction first."""
    now = now or clock_for(settings).now()
    th, _ = options(settings)
    names = supplier_names(settings)
    ft = followed_transactions.c
    with store.read() as conn:
        txs = conn.execute(sa.select(followed_transactions).where(
            sa.or_(ft.resolution.is_(None), ft.status == "PENDING")).order_by(ft.created_at.desc())).all()
        ids = [t.trx_id for t in txs]
        steps = conn.execute(sa.select(complaint_steps).where(complaint_steps.c.trx_id.in_(ids))
                             .order_by(complaint_steps.c.sent_at, complaint_steps.c.id)).all()
        reports = conn.execute(sa.select(agent_reports).where(agent_reports.c.trx_id.in_(ids))
                               .order_by(agent_reports.c.reported_at)).all()
    taken: dict[str, list[StepTaken]] = {}
    for s in steps:
        taken.setdefault(s.trx_id, []).append(StepTaken(s.step, s.code, s.reason, s.level, s.reference, s.sent_at,
                                                        s.reply))
    reported: dict[str, list] = {}
    for r in reports:
        reported.setdefault(r.trx_id, []).append(r)
    found = []
    for t in txs:
        done = {s.step: s.sent_at for s in taken.get(t.trx_id, [])}
        if t.resolution is not None and SERVER_FIX in done:
            continue  # closed: CS was told to fix the server
        case = Case(PendingTx(t.trx_id, t.supplier.lower(), t.created_at, t.status, real_sn(t.sn)),
                    tuple(AgentReport(r.complaint_id, r.trx_id, t.supplier.lower(), r.kind, r.reported_at,
                                      t.created_at, t.status) for r in reported.get(t.trx_id, [])),
                    resolved=(t.resolution, t.resolved_at) if t.resolution and t.resolved_at else None, done=done)
        found.append(ComplaintCase(
            t.trx_id, t.agent_id, t.product, t.destination, t.price, t.supplier, names.get(t.supplier.lower(),
                                                                                           t.supplier.upper()),
            t.created_at, t.status, t.sn,
            [AgentReportRow(r.complaint_id, r.kind, r.reported_at, r.note) for r in reported.get(t.trx_id, [])],
            taken.get(t.trx_id, []), next_step(case, now, th), SUPERVISOR in done or PNR_HARD in done,
            sum(1 for step in done if step.startswith("supervisor_reminder_"))))
    return found


def supervisor_cases(settings: Settings, store: Store, now: datetime | None = None) -> list[ComplaintCase]:
    """The supervisor's view: open cases past the last rung, longest open first."""
    return sorted((c for c in open_cases(settings, store, now) if c.past_last_rung), key=lambda c: c.created_at)


def next_step(case: Case, now: datetime, th: Thresholds) -> NextStep | None:
    """The ladder's next step for the case: due now, or at the first moment a rung falls due."""
    for moment in [now] + _moments(case, now, th):
        due, _ = case_steps(case, moment if moment == now else moment + _JUST_AFTER, th)
        if due:
            step = due[0]
            return NextStep(step.step, step.code, step.reason, moment)
    return None


def _moments(case: Case, now: datetime, th: Thresholds) -> list[datetime]:
    """When a rung of this case can fall due, after ``now`` (the ladder decides which)."""
    done, created = case.done, case.tx.created_at
    moments = [created + th.complaint_after, created + th.hard_after, created + th.pnr_hard_after]
    if HARD in done:
        moments.append(done[HARD] + th.supervisor_after_hard)
    last = last_complaint(done, {})
    if last is not None:
        moments.append(last + th.followup_every)
    rung = done.get(SUPERVISOR) or done.get(PNR_HARD)
    if rung is not None:
        reminders = [at for step, at in done.items() if step.startswith("supervisor_reminder_")]
        moments.append(max([rung] + reminders) + th.reminder_every)
    if case.resolved is not None:
        moments.append(case.resolved[1] + th.server_fix_after)
    moments += [r.reported_at for r in case.reports]
    return sorted(m for m in moments if m > now)
