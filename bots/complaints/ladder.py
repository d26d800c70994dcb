"""Decide (pure): one complaint ladder per transaction, each step at most once.

The SOP's "Transaksi" table (DOMAIN §2), one case per transaction whatever reports it:

- **PENDING** on the server: a complaint to its supplier past 2 minutes; past 15 minutes a
  **hard complaint** demanding a clear status or a failure (directly, if first seen that
  late); still pending 30 minutes after it, a supervisor is told. An agent's "product not
  received" on a pending transaction joins this ladder: no complaint of its own.
- **SUKSES** with an agent's "product not received" (PNR): a complaint when reported —
  the hard one at once if the transaction is already older than 1×24 h — then follow-ups,
  each `followup_every` after the **last complaint sent** for the transaction, and a hard
  complaint once the transaction passes 1×24 h (no follow-ups after it).
- The chase stops when the supplier answers with a real SN (in its status, or in its reply to
  our complaint) or a final status, or the server shows SUKSES with an SN or GAGAL: the
  resolution is recorded. A final supplier answer the server still does not show after a
  while: CS is told once to fix the server (and the agent's saldo).
- Past the last rung (the supervisor for a pending transaction, the hard complaint for a PNR),
  the supervisor gets one reminder a day while the case is open.
- **Wrong destination number** on a SUKSES transaction: non-refundable, nothing is sent, CS sees
  it. On a GAGAL one the server already refunded; on a PENDING one the pending ladder runs.

Every step is keyed (transaction, step); `done` says which keys already happened and when.
No I/O, no clock: `now` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping

COMPLAINT, HARD, SUPERVISOR = "complaint", "hard_complaint", "supervisor"
PNR_COMPLAINT, PNR_HARD, WRONG_NUMBER = "pnr_complaint", "pnr_hard_complaint", "wrong_number"
WRONG_NUMBER_REFUNDED, SERVER_FIX = "wrong_number_refunded", "server_fix"
PNR_FOLLOWUP = "pnr_followup_{slot}"
REMINDER = "supervisor_reminder_{slot}"
PNR, WRONG = "PRODUCT_NOT_RECEIVED", "WRONG_NUMBER"

CODES = {
    COMPLAINT: ("COMPLAINT_SENT", "Pending lebih dari {threshold}: komplain ke supplier"),
    HARD: ("HARD_COMPLAINT_SENT", "Pending lebih dari {threshold}: komplain keras, minta status jelas atau gagalkan"),
    SUPERVISOR: ("ESCALATED_SUPERVISOR", "Masih pending {threshold} setelah komplain keras: eskalasi ke atasan"),
    PNR_COMPLAINT: ("PNR_COMPLAINT_SENT", "Agen lapor produk belum masuk: komplain ke supplier"),
    "pnr_followup": ("PNR_FOLLOWUP_SENT", "Produk belum masuk: follow-up ke-{slot} ({threshold} setelah komplain "
                                          "terakhir)"),
    PNR_HARD: ("PNR_HARD_COMPLAINT_SENT", "Sukses tapi produk belum masuk lebih dari {threshold}: komplain keras"),
    "supervisor_reminder": ("SUPERVISOR_REMINDER", "Kasus masih terbuka setelah langkah terakhir: pengingat harian "
                                                   "ke atasan (hari ke-{slot})"),
    WRONG_NUMBER: ("WRONG_NUMBER_NON_REFUNDABLE", "Salah nomor tujuan: tidak dapat direfund, tidak ada tindakan"),
    WRONG_NUMBER_REFUNDED: ("WRONG_NUMBER_ALREADY_REFUNDED", "Salah nomor tujuan, transaksi gagal: saldo agen sudah "
                                                             "dikembalikan server"),
    SERVER_FIX: ("SERVER_FIX_NEEDED", "Supplier menjawab {status}, server masih PENDING: CS perbaiki status di "
                                      "server dan saldo agen"),
}
#: Steps that are a complaint sent to the supplier (the others are notifications or records).
COMPLAINT_LEVELS = ("normal", "hard")
#: Final supplier answers a transaction can be resolved with.
FINAL = ("SUKSES", "GAGAL")
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Thresholds:
    complaint_after: timedelta = timedelta(minutes=2)
    hard_after: timedelta = timedelta(minutes=15)
    supervisor_after_hard: timedelta = timedelta(minutes=30)
    followup_every: timedelta = timedelta(minutes=30)
    pnr_hard_after: timedelta = timedelta(hours=24)
    reminder_every: timedelta = DAY
    server_fix_after: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class PendingTx:
    """A transaction followed by the bot, as the server shows it now."""

    trx_id: str
    supplier: str
    created_at: datetime
    status: str = "PENDING"          # PENDING | SUKSES | GAGAL on the server
    sn: str | None = None            # a real serial on the server, or None


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
    """One step due now: what to send (level None: a notification or a record only), and why."""

    trx_id: str
    step: str
    supplier: str
    level: str | None         # normal | hard | None
    code: str
    reason: str
    age: timedelta            # the transaction's age when the step was decided
    status: str = "PENDING"   # the server's status the message is worded for


@dataclass(frozen=True)
class Resolution:
    trx_id: str
    status: str
    sn: str | None
    source: str = "supplier"  # supplier | server


@dataclass(frozen=True)
class Case:
    """Everything known about one transaction's case, for one decision."""

    tx: PendingTx
    reports: tuple[AgentReport, ...] = ()
    answer: SupplierAnswer | None = None       # the supplier's status export
    replied_sn: str | None = None              # a real SN in the supplier's reply to our complaint
    resolved: tuple[str, datetime] | None = None  # (status, when) if the case is closed already
    done: Mapping[str, datetime] = field(default_factory=dict)


def _minutes(delta: timedelta) -> str:
    total = int(delta.total_seconds() // 60)
    if total >= 60 and total % 60 == 0:
        hours = total // 60
        return f"{hours // 24}x24 jam" if hours % 24 == 0 else f"{hours} jam"
    return f"{total} menit"


def _step(case: Case, step: str, level: str | None, age: timedelta, threshold: timedelta,
          slot: int | None = None, family: str | None = None, status: str = "") -> Step:
    code, reason = CODES[family or step]
    return Step(case.tx.trx_id, step, case.tx.supplier, level, code,
                reason.format(threshold=_minutes(threshold), slot=slot, status=status), age,
                case.tx.status)


def last_complaint(done: Mapping[str, datetime], levels: Mapping[str, str | None]) -> datetime | None:
    """When the last complaint (normal or hard) was sent for a transaction."""
    sent = [at for step, at in done.items() if levels.get(step, _level_of(step)) in COMPLAINT_LEVELS]
    return max(sent) if sent else None


def _level_of(step: str) -> str | None:
    if step in (HARD, PNR_HARD):
        return "hard"
    if step in (COMPLAINT, PNR_COMPLAINT) or step.startswith("pnr_followup_"):
        return "normal"
    return None


def _reminder(case: Case, rung: datetime, now: datetime, th: Thresholds, age: timedelta) -> Step | None:
    """One reminder a day after the last rung (each a day after the one before)."""
    sent = [at for step, at in case.done.items() if step.startswith("supervisor_reminder_")]
    if now - max([rung] + sent) < th.reminder_every:
        return None
    slot = len(sent) + 1
    return _step(case, REMINDER.format(slot=slot), None, age, th.reminder_every, slot=slot,
                 family="supervisor_reminder")


def resolution_of(case: Case) -> Resolution | None:
    """The case's resolution if one is visible now (the supplier's word first)."""
    tx, answer = case.tx, case.answer
    if answer is not None and (answer.status == "GAGAL" or (answer.status == "SUKSES" and answer.sn)):
        if tx.status == "PENDING" or answer.status == "GAGAL" or tx.status == "GAGAL":
            return Resolution(tx.trx_id, answer.status, answer.sn)
    if case.replied_sn:
        return Resolution(tx.trx_id, "SUKSES", case.replied_sn)
    if tx.status == "GAGAL" or (tx.status == "SUKSES" and tx.sn and not _pnr(case)):
        return Resolution(tx.trx_id, tx.status, tx.sn, "server")
    return None


def _pnr(case: Case) -> list[AgentReport]:
    return [r for r in case.reports if r.kind == PNR]


def case_steps(case: Case, now: datetime, th: Thresholds = Thresholds()) -> tuple[list[Step], Resolution | None]:
    """The steps due now for one transaction, and its resolution if it was found just now."""
    tx, done = case.tx, case.done
    age = now - tx.created_at
    steps: list[Step] = []
    wrong = [r for r in case.reports if r.kind == WRONG and r.reported_at <= now]
    if wrong and tx.status == "SUKSES" and WRONG_NUMBER not in done:
        steps.append(_step(case, WRONG_NUMBER, None, age, timedelta(0)))
    if wrong and tx.status == "GAGAL" and WRONG_NUMBER_REFUNDED not in done:
        steps.append(_step(case, WRONG_NUMBER_REFUNDED, None, age, timedelta(0)))
    if wrong and not _pnr(case) and tx.status != "PENDING":
        return steps, None  # a wrong number alone asks nothing of the supplier

    if case.resolved is not None:
        status, at = case.resolved
        if tx.status == "PENDING" and SERVER_FIX not in done and now - at >= th.server_fix_after:
            steps.append(_step(case, SERVER_FIX, None, age, th.server_fix_after, status=status))
        return steps, None
    found = resolution_of(case)
    pnr = [r for r in _pnr(case) if r.reported_at <= now]
    if found is not None and (tx.status == "PENDING" and age > th.complaint_after or pnr or done):
        return steps, found
    if tx.status == "PENDING":
        step = _pending_step(case, age, now, th)
    elif tx.status == "SUKSES" and pnr:
        step = _pnr_step(case, age, now, th)
    else:
        step = None
    return steps + ([step] if step else []), None


def _pending_step(case: Case, age: timedelta, now: datetime, th: Thresholds) -> Step | None:
    done = case.done
    if age <= th.complaint_after:
        return None
    if age > th.hard_after:
        if HARD not in done:
            return _step(case, HARD, "hard", age, th.hard_after)
        if SUPERVISOR not in done:
            if now - done[HARD] > th.supervisor_after_hard:
                return _step(case, SUPERVISOR, None, age, th.supervisor_after_hard)
            return None
        return _reminder(case, done[SUPERVISOR], now, th, age)
    if COMPLAINT not in done and HARD not in done:
        return _step(case, COMPLAINT, "normal", age, th.complaint_after)
    return None


def _pnr_step(case: Case, age: timedelta, now: datetime, th: Thresholds) -> Step | None:
    done = case.done
    if PNR_HARD in done:
        return _reminder(case, done[PNR_HARD], now, th, age)
    if age > th.pnr_hard_after:
        last = last_complaint(done, {})
        if last is not None and now - last < th.followup_every:
            return None  # never two complaints within followup_every: the hard one takes the next slot
        return _step(case, PNR_HARD, "hard", age, th.pnr_hard_after)
    if PNR_COMPLAINT not in done:
        return _step(case, PNR_COMPLAINT, "normal", age, timedelta(0))
    last = last_complaint(done, {})
    if last is not None and now - last >= th.followup_every:
        slot = 1 + sum(1 for step in done if step.startswith("pnr_followup_"))
        return _step(case, PNR_FOLLOWUP.format(slot=slot), "normal", age, th.followup_every, slot=slot,
                     family="pnr_followup")
    return None


def decide(cases: Iterable[Case], now: datetime, th: Thresholds = Thresholds()
           ) -> tuple[list[Step], list[Resolution]]:
    """Steps due now and resolutions found, one ladder per transaction."""
    steps: list[Step] = []
    resolutions: list[Resolution] = []
    for case in cases:
        due, found = case_steps(case, now, th)
        steps += due
        if found is not None:
            resolutions.append(found)
    return steps, resolutions


def cases(transactions: Iterable[PendingTx], reports: Iterable[AgentReport],
          answers: Mapping[str, SupplierAnswer], replied: Mapping[str, str],
          resolved: Mapping[str, tuple[str, datetime]], done: Mapping[str, Mapping[str, datetime]]) -> list[Case]:
    """One case per transaction, with every report about it."""
    by_trx: dict[str, list[AgentReport]] = {}
    for r in reports:
        by_trx.setdefault(r.trx_id, []).append(r)
    return [Case(tx, tuple(sorted(by_trx.get(tx.trx_id, []), key=lambda r: r.reported_at)),
                 answers.get(tx.trx_id), replied.get(tx.trx_id), resolved.get(tx.trx_id), done.get(tx.trx_id, {}))
            for tx in transactions]
