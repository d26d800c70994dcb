"""Act: credit tickets and escalate lines, each exactly once (DESIGN §5).

Every side effect follows intent → check → act → verify → done, journaled in the store's
`actions` table under a unique key:

- approving a ticket (`approve:<ticket>`): the click is marked in flight before it happens.
  A run that finds an unfinished approval reads the ticket first: APPROVED after our click
  was ours (done); APPROVED without our click was someone else's (TICKET_ALREADY_PROCESSED);
  still OPEN means the click never landed — the portal itself refuses a second approval, so
  only then is it clicked again.
- notifying finance of an escalation (`notify:escalation:<id>`): before sending again after a
  crash, finance's inbox is searched for the escalation's marker.
- a manual credit by finance (`manual:escalation:<id>`, see escalations.py): the note carries
  `BOT:<key>` and the balance log is searched for it before and after, since the portal's
  manual add is not idempotent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Callable

from loguru import logger

from bots.crashpoints import NEVER, CrashPoints
from bots.errors import PortalUnavailable, SessionExpired
from bots.notify import NotifyOnce
from bots.reconcile.ledger import Ledger
from bots.reconcile.matching import (AUTO_CREDITED, TICKET_ALREADY_PROCESSED, TICKET_EXPIRED, NO_MATCHING_TICKET,
                                     Outcome, rupiah)
from bots.store import Action, Store

BOT = "reconcile_payments"


def approval_key(ticket_id: str) -> str:
    return f"approve:{ticket_id}"


class Executor:
    """Carries out outcomes through the portals; returns each line's final outcome."""

    def __init__(self, store: Store, ledger: Ledger, otomax, notifier, run_id: str, now: Callable[[], datetime],
                 already_notified: Callable[[str], bool] = lambda marker: False, crash: CrashPoints = NEVER):
        self.store, self.ledger, self.otomax = store, ledger, otomax
        self.run_id, self.now, self.crash = run_id, now, crash
        self.notify = NotifyOnce(store, notifier, BOT, run_id, now, already_notified, crash)

    # -- recovery: unfinished work of an earlier run comes first -----------------------------------
    def recover(self) -> list[Outcome]:
        """Finish what an earlier run left unfinished, before anything new is decided."""
        finished = []
        for action in self.store.unfinished(BOT):
            if action.kind == "approve_ticket":
                logger.info("recovering {} left {} by run {}", action.key, action.state, action.run_id)
                finished.append(self._settle(self._approve(action, self._outcome_of(action))))
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
    def carry_out(self, outcome: Outcome) -> Outcome:
        if outcome.credits:
            action, _created = self.store.record_intent(
                approval_key(outcome.ticket_id), BOT, "approve_ticket",
                {"ticket_id": outcome.ticket_id, "line": outcome.fingerprint, "agent_id": outcome.agent_id,
                 "amount": self._amount(outcome)}, self.run_id, self.now())
            self.crash("approve:after_intent")
            if action.payload["line"] != outcome.fingerprint:  # the ticket is another line's
                outcome = replace(outcome, code=TICKET_ALREADY_PROCESSED, ticket_id=None, agent_id=None,
                                  reason=f"Tiket {outcome.ticket_id} sudah dibayar oleh mutasi lain")
            else:
                outcome = self._approve(action, outcome)
        return self._settle(outcome)

    def _amount(self, outcome: Outcome) -> int:
        line = self.ledger.credit_line(outcome.fingerprint)
        return int(line.amount)

    def _approve(self, action: Action, outcome: Outcome) -> Outcome:
        ticket_id = outcome.ticket_id
        if action.state == "done":
            return outcome
        if action.state == "failed":
            return self._refused(outcome, action.error or "")
        ticket = self.otomax.ticket(ticket_id)  # check before acting
        if ticket is None:
            return self._fail(action, outcome, NO_MATCHING_TICKET, f"Tiket {ticket_id} tidak ada di server")
        if ticket.status == "APPROVED":
            if action.state == "in_flight":  # our click landed; the answer was lost
                return self._done(action, outcome, "approved (found approved after an unknown outcome)")
            return self._fail(action, outcome, TICKET_ALREADY_PROCESSED,
                              f"Tiket {ticket_id} sudah disetujui di server (bukan oleh bot)")
        if ticket.status != "OPEN":
            return self._fail(action, outcome, TICKET_EXPIRED, f"Tiket {ticket_id} berstatus {ticket.status}")
        self.store.mark_in_flight(action.key, self.now())
        self.crash("approve:after_in_flight")
        logger.info("approving ticket {} for line {} ({})", ticket_id, outcome.fingerprint[:12], outcome.agent_id)
        try:
            approval = self.otomax.approve_ticket(ticket_id)
        except SessionExpired:
            # the portal refused the form before doing anything: log in again, re-check, act
            logger.info("session ended before approving {}; checking the ticket again", ticket_id)
            return self._approve(self.store.get_action(action.key), outcome)
        except PortalUnavailable as exc:
            logger.warning("approval of {} has an unknown outcome ({}); reading the portal", ticket_id, exc)
            ticket = self.otomax.ticket(ticket_id)  # if this fails too, the next run recovers
            if ticket is not None and ticket.status == "APPROVED":
                return self._done(action, outcome, "approved (verified after the connection dropped)")
            raise
        self.crash("approve:after_click")
        if approval.outcome == "approved":
            return self._done(action, outcome, "approved")
        code = {"expired": TICKET_EXPIRED, "cancelled": NO_MATCHING_TICKET,
                "not_found": NO_MATCHING_TICKET}.get(approval.outcome, TICKET_ALREADY_PROCESSED)
        return self._fail(action, outcome, code, approval.message or approval.outcome)

    def _done(self, action: Action, outcome: Outcome, how: str) -> Outcome:
        self.store.mark_done(action.key, {"how": how}, self.now())
        self.crash("approve:after_done")
        logger.info("ticket {} approved: {} credited to {}", outcome.ticket_id, rupiah(action.payload["amount"]),
                    outcome.agent_id)
        return outcome

    def _fail(self, action: Action, outcome: Outcome, code: str, reason: str) -> Outcome:
        self.store.mark_failed(action.key, f"{code}: {reason}", self.now())
        return self._refused(outcome, f"{code}: {reason}")

    @staticmethod
    def _refused(outcome: Outcome, error: str) -> Outcome:
        code, _, reason = error.partition(": ")
        code = code if code in (TICKET_ALREADY_PROCESSED, TICKET_EXPIRED, NO_MATCHING_TICKET) else TICKET_ALREADY_PROCESSED
        return replace(outcome, code=code, reason=reason or error, ticket_id=None, agent_id=None)

    # -- outcome written, escalation opened and notified ---------------------------------------------------
    def _settle(self, outcome: Outcome) -> Outcome:
        self.ledger.record(outcome, self.now())
        if outcome.escalates:
            self._announce(self.ledger.escalate(outcome, self.now()))
        return outcome

    def _announce(self, escalation_id: int) -> None:
        escalation = self.ledger.escalations(escalation_id=escalation_id)[0]
        title = f"[ESK-{escalation_id}] {escalation.code} {escalation.bank.upper()} {rupiah(escalation.amount)}"
        body = (f"Mutasi {escalation.bank.upper()} rekening {escalation.account_no} tanggal {escalation.day:%d/%m/%Y}: "
                f"{rupiah(escalation.amount)} — {escalation.description}\n{escalation.code}: {escalation.reason}\n"
                f"Tutup dengan: python -m bots escalations resolve {escalation_id} --agent ID_AGEN --note TEKS "
                f"(atau --reject --note TEKS)")
        self._notify(escalation_id, title, body)

    def _notify(self, escalation_id: int, title: str, body: str) -> None:
        if self.notify(f"notify:escalation:{escalation_id}", f"[ESK-{escalation_id}]", title, body):
            self.ledger.mark_notified(escalation_id, self.now())
