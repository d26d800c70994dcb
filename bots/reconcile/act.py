"""Act: credit tickets and escalate lines, each exactly once, through the run's journal.

Every side effect goes through `Journal.once` (bots/journal.py): key, portal check, act, verify.

- approving a ticket (`approve:<ticket>`): the ticket's status on the server is the check.
  APPROVED there means this line's ticket was credited — by an earlier run whose memory was
  lost, by another host, or by hand after the transfer — so it is recorded, never clicked
  again; approved *before* the transfer arrived it was paid by something else
  (TICKET_ALREADY_PROCESSED, to finance). The server refusing the click (expired, cancelled,
  an agent it no longer knows) is an outcome: the line goes to finance with the server's
  words, and the run goes on with the other lines.
- notifying finance of an escalation (`notify:<line>`): the inbox is searched for the
  message's marker, derived from the statement line, before it is sent.
- a manual credit by finance (escalations.py): the note starts with the line's marker.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from loguru import logger

from bots.crashpoints import NEVER, CrashPoints
from bots.errors import ActionRefused
from bots.journal import Effect, Journal
from bots.notify import NotifyOnce
from bots.reconcile.ledger import Ledger
from bots.reconcile.matching import (APPROVAL_REFUSED, JAKARTA, AUTO_CREDITED, NO_MATCHING_TICKET, PENDING_REVERSED,
                                     STATEMENT_GAP, TICKET_ALREADY_PROCESSED, TICKET_EXPIRED, Outcome, rupiah)
from bots.store import Action, Store
from bots.workbook import visible

BOT = "reconcile_payments"

# What the server's answer to "Setujui" means for the line.
_REFUSAL_CODES = {"expired": TICKET_EXPIRED, "cancelled": NO_MATCHING_TICKET, "not_found": NO_MATCHING_TICKET,
                  "already_processed": TICKET_ALREADY_PROCESSED, "refused": APPROVAL_REFUSED}


def approval_key(ticket_id: str) -> str:
    return f"approve:{ticket_id}"


def line_marker(fingerprint: str, kind: str = "M") -> str:
    """The marker of an act paying for one statement line (≤ 24 characters), derived from the
    line's identity: the same line gives the same marker in any store, on any host."""
    return f"BOT:{kind}-{fingerprint[:12]}"


class Executor:
    """Carries out outcomes through the portals; returns each line's final outcome."""

    def __init__(self, store: Store, ledger: Ledger, otomax, notifier, run_id: str, now: Callable[[], datetime],
                 inbox=None, crash: CrashPoints = NEVER, journal: Journal | None = None,
                 console_url: str | None = None):
        self.store, self.ledger, self.otomax, self.now = store, ledger, otomax, now
        self.console_url = console_url  # set: notifications link to the escalation's page there
        self.journal = journal or Journal(store, BOT, run_id, now, crash=crash)
        self.notify = NotifyOnce(self.journal, notifier, inbox)
        self.notifies = getattr(notifier, "configured", True)  # False: nothing is ever sent (no NOTIFY_URLS)
        self._adds: dict | None = None

    # -- recovery: unfinished work of an earlier run comes first -----------------------------------
    def recover(self) -> list[Outcome]:
        """Finish what an earlier run left unfinished, before anything new is decided."""
        finished = []
        for action in self.store.unfinished(BOT):
            if action.kind == "approve_ticket":
                logger.info("recovering {} left {} by run {}", action.key, action.state, action.run_id)
                settled = self._approve(self._outcome_of(action))
                if settled is not None:
                    finished.append(self._settle(settled))
        # an approval done whose line outcome was never written (a crash between the two writes)
        for action in self.ledger.approvals(state="done", undecided_only=True):
            finished.append(self._settle(self._outcome_of(action)))
        for escalation in self.ledger.escalations(status="OPEN"):
            if escalation.notified_at is None:
                self._announce(escalation.id)
        return finished

    def _outcome_of(self, action: Action) -> Outcome:
        p = action.payload
        return Outcome(p["line"], AUTO_CREDITED, f"Cocok dengan tiket {p['ticket_id']} ({rupiah(p['amount'])})",
                       p["ticket_id"], p["agent_id"], (p["ticket_id"],))

    # -- the plan ---------------------------------------------------------------------------------------
    def carry_out(self, outcome: Outcome) -> Outcome | None:
        """The line's final outcome, or None when another live run is handling its ticket."""
        if outcome.credits:
            settled = self._approve(outcome)
            if settled is None:
                return None
            outcome = settled
        return self._settle(outcome)

    def _approve(self, outcome: Outcome) -> Outcome | None:
        ticket_id = outcome.ticket_id
        line = self.ledger.credit_line(outcome.fingerprint)
        payload = {"ticket_id": ticket_id, "line": outcome.fingerprint, "agent_id": outcome.agent_id,
                   "amount": int(line.amount)}

        def check(fresh: bool):
            ticket = self.otomax.ticket(ticket_id)
            if ticket is None or ticket.status != "APPROVED":
                return None
            if ticket.approved_at is not None and _before_transfer(ticket.approved_at, line.when()):
                raise ActionRefused("otomax", f"already_processed: Tiket {ticket_id} sudah disetujui "
                                              f"{ticket.approved_at:%d/%m/%Y %H:%M}, sebelum transfer ini masuk")
            return {"how": "approved at the portal", "approved_at": _iso(ticket.approved_at)}

        def act() -> dict:
            logger.info("approving ticket {} for line {} ({})", ticket_id, outcome.fingerprint[:12], outcome.agent_id)
            approval = self.otomax.approve_ticket(ticket_id)
            if approval.outcome != "approved":
                raise ActionRefused("otomax", f"{approval.outcome}: {approval.message or approval.outcome}")
            return {"how": "approved"}

        effect = Effect(approval_key(ticket_id), "approve_ticket", payload, check, act,
                        point="approve", act_point="after_click")
        claim = self.store.get_action(effect.key)
        if claim is not None and claim.payload["line"] != outcome.fingerprint:  # the ticket is another line's
            return replace(outcome, code=TICKET_ALREADY_PROCESSED, ticket_id=None, agent_id=None,
                           reason=f"Tiket {ticket_id} sudah dibayar oleh mutasi lain")
        settled = self.journal.once(effect)
        if settled.state == "busy":
            return None
        if settled.state == "refused":
            return self._refused(outcome, settled.words)
        if settled.state == "in_doubt":
            return replace(outcome, code=APPROVAL_REFUSED, ticket_id=None, agent_id=None,
                           reason=f"Persetujuan tiket {ticket_id} belum pasti: {settled.words}")
        logger.info("ticket {} approved ({}): {} credited to {}", ticket_id, settled.how,
                    rupiah(payload["amount"]), outcome.agent_id)
        if settled.found:
            return replace(outcome, reason=f"{outcome.reason}; sudah disetujui di server")
        return outcome

    @staticmethod
    def _refused(outcome: Outcome, words: str) -> Outcome:
        kind, _, said = words.partition(": ")
        code = _REFUSAL_CODES.get(kind, APPROVAL_REFUSED)
        return replace(outcome, code=code, reason=f"Server menolak tiket {outcome.ticket_id}: {said or words}",
                       ticket_id=None, agent_id=None)

    # -- outcome written, escalation opened and notified ---------------------------------------------------
    def _settle(self, outcome: Outcome) -> Outcome:
        self.ledger.record(outcome, self.now())
        if outcome.escalates:
            self.escalate(outcome)
        return outcome

    def escalate(self, outcome: Outcome) -> int:
        """The escalation of an outcome (its line, or a gateway payment kept as one): recorded
        resolved if finance already credited it by hand (its marker in the balance log), else
        finance is told once. Returns its id."""
        escalation_id = self.ledger.escalate(outcome, self.now())
        if not self._credited_by_hand(escalation_id, outcome.fingerprint):
            self._announce(escalation_id)
        return escalation_id

    def _credited_by_hand(self, escalation_id: int, fingerprint: str) -> bool:
        """Was this line already credited by hand (its marker is in the balance log)? Then a
        store that forgot it (lost, restored, another host's) records it resolved: finance
        must not be asked to credit it a second time."""
        escalation = self.ledger.escalations(escalation_id=escalation_id)[0]
        if escalation.status != "OPEN" or escalation.notified_at is not None:
            return False
        entry = self._manual_adds().get(line_marker(fingerprint))
        if entry is None:
            return False
        from bots.escalations import manual_key

        found = {"how": "found in the balance log", "agent_id": entry.agent_id, "amount": entry.amount}
        self.journal.once(Effect(manual_key(fingerprint), "manual_credit",
                                 {"agent_id": entry.agent_id, "amount": entry.amount, "note": entry.note},
                                 lambda fresh: found, _never, marker=line_marker(fingerprint), point="manual"))
        self.ledger.close_escalation(escalation_id, "RESOLVED", self.now(), entry.agent_id,
                                     f"found in the balance log: {entry.note}")
        logger.warning("ESK-{}: {} was already added by hand to {} ({}): recorded as resolved",
                       escalation_id, rupiah(entry.amount), entry.agent_id, line_marker(fingerprint))
        return True

    def _manual_adds(self) -> dict:
        """The balance log's adds that carry a line's marker, read once per run (by marker)."""
        if self._adds is None:
            self._adds = {}
            for entry in self.otomax.balance_log(note_contains="BOT:M-"):
                marker = entry.note.split(" ", 1)[0]
                self._adds.setdefault(marker, entry)
        return self._adds

    # -- a pending line reversed, a day that does not tie out ---------------------------------------------
    def reversed(self, row) -> None:
        """A PEND line gone without posting: PENDING_REVERSED to finance, naming the credit to take back."""
        credited = row.code == AUTO_CREDITED and row.ticket_id
        if credited:
            reason = (f"Mutasi PEND hilang tanpa dibukukan bank: kredit tiket {row.ticket_id} ke {row.agent_id} "
                      f"{rupiah(Decimal(row.amount))} HARUS DITARIK KEMBALI (uang tidak diterima)")
        elif row.code and row.code != PENDING_REVERSED:
            reason = f"Mutasi PEND hilang tanpa dibukukan bank (sebelumnya {row.code}); tidak ada yang dikredit bot"
        else:
            reason = "Mutasi PEND hilang tanpa dibukukan bank; tidak ada yang dikredit"
        now = self.now()
        self.ledger.reverse(row.fingerprint, PENDING_REVERSED, reason, now)
        escalation_id = self.ledger.reopen_escalation(row.fingerprint, PENDING_REVERSED, reason, now)
        logger.warning("ESK-{}: {} {} {} PEND line reversed by the bank{}", escalation_id, row.bank, row.account_no,
                       rupiah(Decimal(row.amount)), f"; take back the credit of {row.ticket_id}" if credited else "")
        self._announce(escalation_id)

    def gap(self, bank: str, account_no: str, day: date, amount) -> None:
        """STATEMENT_GAP: the day does not tie out after a wider read; finance is told once per amount."""
        marker = f"BOT:G-{hashlib.sha256(f'{bank}|{account_no}|{day}|{amount}'.encode()).hexdigest()[:12]}"
        title = f"[{marker}] {STATEMENT_GAP} {bank.upper()} {account_no} {day:%d/%m/%Y} {rupiah(abs(amount))}"
        body = (f"Saldo rekening {bank.upper()} {account_no} tanggal {day:%d/%m/%Y} tidak cocok: saldo awal + kredit − "
                f"debet − saldo akhir = {rupiah(amount) if amount >= 0 else '-' + rupiah(-amount)}. Ada mutasi yang "
                "belum terbaca (mis. dibukukan mundur); periksa mutasi bank hari itu.")
        if self.notify(f"notify:gap:{bank}:{account_no}:{day}:{amount}", marker, title, body) and self.notifies:
            self.ledger.gap_notified(bank, account_no, day, self.now())

    def _announce(self, escalation_id: int) -> None:
        escalation = self.ledger.escalations(escalation_id=escalation_id)[0]
        if escalation.code == PENDING_REVERSED:  # its own message: the line may have been notified before
            marker = line_marker(escalation.fingerprint, "R")
            key = f"notify:reversed:{escalation.fingerprint}"
        else:
            marker = line_marker(escalation.fingerprint, "N")
            key = f"notify:line:{escalation.fingerprint}"
        title = (f"[{marker}] ESK-{escalation_id} {escalation.code} {escalation.bank.upper()} "
                 f"{rupiah(escalation.amount)}")
        # text from the bank and the server is escaped: a description never becomes markup in an inbox
        body = (f"Mutasi {escalation.bank.upper()} rekening {escalation.account_no} tanggal {escalation.day:%d/%m/%Y}: "
                f"{rupiah(escalation.amount)} — {_safe(escalation.description)}\n{escalation.code}: "
                f"{_safe(escalation.reason)}\n" + self._how_to_close(escalation_id))
        if self.notify(key, marker, title, body) and self.notifies:  # Dinotifikasi: only when really sent
            self.ledger.mark_notified(escalation_id, self.now())

    def _how_to_close(self, escalation_id: int) -> str:
        """The escalation's page in the console (console_url set), else the command that closes it."""
        if self.console_url:
            return f"Buka di konsol: {self.console_url}/eskalasi/{escalation_id}"
        return (f"Tutup dengan: python -m bots escalations resolve ESK-{escalation_id} --agent ID_AGEN --note TEKS "
                f"(atau --reject --note TEKS)")


def _safe(text: str) -> str:
    """Outside text for a notification (NotifyOnce escapes its markup for every bot)."""
    return visible(text)


def _never() -> dict:
    raise AssertionError("a manual add found in the balance log is never made again")


def _before_transfer(approved_at: datetime, when: datetime | date) -> bool:
    if isinstance(when, datetime):
        return approved_at < when
    return approved_at.astimezone(JAKARTA).date() < when


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
