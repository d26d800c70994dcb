"""Decide (pure): which complaint step each transaction is due for, at most once each.

The SOP's table (DOMAIN §2): a transaction PENDING for more than 2 minutes gets a complaint
to its supplier; past 15 minutes a **hard complaint** demanding a clear status or a failure
(directly, if it is first seen that late); still pending some time after the hard complaint,
a supervisor is told. An agent's "product not received" report on a SUKSES transaction gets a
complaint when reported, follow-ups at a fixed interval (keyed by their slot, so never more
often), and a hard complaint once the transaction is more than 24 hours old. A wrong
destination number is non-refundable: nothing is sent, CS sees it in the workbook.

Every step is keyed (transaction, step); `done` says which keys already happened. No I/O, no
clock: `now` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping

COMPLAINT, HARD, SUPERVISOR = "complaint", "hard_complaint", "supervisor"
PNR_COMPLAINT, PNR_HARD, WRONG_NUMBER = "pnr_complaint", "pnr_hard_complaint", "wrong_number"
PNR_FOLLOWUP = "pnr_followup_{slot}"

CODES = {
    COMPLAINT: ("COMPLAINT_SENT", "Pending lebih dari {threshold}: komplain ke supplier"),
    HARD: ("HARD_COMPLAINT_SENT", "Pending lebih dari {threshold}: komplain keras, minta status jelas atau gagalkan"),
    SUPERVISOR: ("ESCALATED_SUPERVISOR", "Masih pending {threshold} setelah komplain keras: eskalasi ke atasan"),
    PNR_COMPLAINT: ("PNR_COMPLAINT_SENT", "Agen lapor produk belum masuk: komplain ke supplier"),
    "pnr_followup": ("PNR_FOLLOWUP_SENT", "Produk belum masuk: follow-up ke-{slot} (tiap {threshold})"),
    PNR_HARD: ("PNR_HARD_COMPLAINT_SENT", "Sukses tapi produk belum masuk lebih dari {threshold}: komplain keras"),
    WRONG_NUMBER: ("WRONG_NUMBER_NON_REFUNDABLE", "Salah nomor tujuan: tidak dapat direfund, tidak ada tindakan"),
}
#: Final supplier answers a pending transaction can be resolved with.
FINAL = ("SUKSES", "GAGAL")


@dataclass(frozen=True)
class Thresholds:
    complaint_after: timedelta = timedelta(minutes=2)
    hard_after: timedelta = timedelta(minutes=15)
    supervisor_after_hard: timedelta = timedelta(minutes=30)
    followup_every: timedelta = timedelta(minutes=30)
    pnr_hard_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class PendingTx:
    trx_id: str
    supplier: str
    created_at: datetime


@dataclass(frozen=True)
class AgentReport:
    complaint_id: str
    trx_id: str
    supplier: str
    kind: str                 # PRODUCT_NOT_RECEIVED | WRONG_NUMBER
    reported_at: datetime
    trx_created_at: datetime
    trx_status: str           # the transaction's status on the server


@dataclass(frozen=True)
class SupplierAnswer:
    status: str               # SUKSES | PENDING | GAGAL (normalised)
    sn: str | None            # a real serial number, or None


@dataclass(frozen=True)
class Step:
    """One complaint step due now: what to send (level None: nothing is sent), and why."""

    trx_id: str
    step: str
    supplier: str
    level: str | None         # normal | hard | None (supervisor: a notification; wrong number: nothing)
    code: str
    reason: str
    age: timedelta            # the transaction's age when the step was decided


@dataclass(frozen=True)
class Resolution:
    trx_id: str
    status: str
    sn: str | None


def _minutes(delta: timedelta) -> str:
    total = int(delta.total_seconds() // 60)
    return f"{total // 60} jam" if total >= 60 and total % 60 == 0 else f"{total} menit"


def _step(trx_id: str, step: str, supplier: str, level: str | None, age: timedelta, threshold: timedelta,
          slot: int | None = None) -> Step:
    code, reason = CODES["pnr_followup" if slot else step]
    return Step(trx_id, step, supplier, level, code, reason.format(threshold=_minutes(threshold), slot=slot), age)


def pending_step(tx: PendingTx, answer: SupplierAnswer | None, done: Mapping[str, datetime], now: datetime,
                 th: Thresholds) -> Step | Resolution | None:
    """The next step of a PENDING transaction (or its resolution), if any is due."""
    age = now - tx.created_at
    if age <= th.complaint_after:
        return None
    if answer is not None and (answer.status == "GAGAL" or (answer.status == "SUKSES" and answer.sn)):
        return Resolution(tx.trx_id, answer.status, answer.sn)
    if age > th.hard_after:
        if HARD not in done:
            return _step(tx.trx_id, HARD, tx.supplier, "hard", age, th.hard_after)
        if SUPERVISOR not in done and now - done[HARD] > th.supervisor_after_hard:
            return _step(tx.trx_id, SUPERVISOR, tx.supplier, None, age, th.supervisor_after_hard)
        return None
    if COMPLAINT not in done and HARD not in done:
        return _step(tx.trx_id, COMPLAINT, tx.supplier, "normal", age, th.complaint_after)
    return None


def report_step(report: AgentReport, done: Mapping[str, datetime], now: datetime, th: Thresholds) -> Step | None:
    """The next step for an agent's report about a transaction, if any is due."""
    if report.reported_at > now:
        return None
    age = now - report.trx_created_at
    if report.kind == "WRONG_NUMBER":
        return None if WRONG_NUMBER in done else _step(report.trx_id, WRONG_NUMBER, report.supplier, None, age,
                                                        timedelta(0))
    if report.trx_status == "GAGAL" or PNR_HARD in done:
        return None  # refunded by the server, or the hard complaint is out: no more chasing
    if PNR_COMPLAINT not in done:
        return _step(report.trx_id, PNR_COMPLAINT, report.supplier, "normal", age, timedelta(0))
    if age > th.pnr_hard_after:
        return _step(report.trx_id, PNR_HARD, report.supplier, "hard", age, th.pnr_hard_after)
    slot = int((now - report.reported_at) / th.followup_every)
    key = PNR_FOLLOWUP.format(slot=slot)
    if slot >= 1 and key not in done:
        return _step(report.trx_id, key, report.supplier, "normal", age, th.followup_every, slot=slot)
    return None


def decide(pending: Iterable[PendingTx], reports: Iterable[AgentReport], answers: Mapping[str, SupplierAnswer],
           done: Mapping[str, Mapping[str, datetime]], now: datetime, th: Thresholds = Thresholds()
           ) -> tuple[list[Step], list[Resolution]]:
    """Steps due now and resolutions found, for every pending transaction and agent report."""
    steps, resolutions = [], []
    for tx in pending:
        found = pending_step(tx, answers.get(tx.trx_id), done.get(tx.trx_id, {}), now, th)
        if isinstance(found, Resolution):
            resolutions.append(found)
        elif found is not None:
            steps.append(found)
    for report in reports:
        found = report_step(report, done.get(report.trx_id, {}), now, th)
        if found is not None and all((s.trx_id, s.step) != (found.trx_id, found.step) for s in steps):
            steps.append(found)  # two reports of one transaction: one step
    return steps, resolutions
