"""The exactly-once protocol of approvals, against an in-memory transaction server."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bots.errors import PortalUnavailable, SessionExpired
from bots.parsers import Statement, StatementLine
from bots.reconcile.act import Executor, approval_key
from bots.reconcile.ledger import Ledger
from bots.reconcile.matching import APPROVAL_REFUSED, AUTO_CREDITED, TICKET_ALREADY_PROCESSED, decide

# the `store` fixture's: SQLite in make test, PostgreSQL in make test-pg (the store is not what this is about)
pytestmark = pytest.mark.store_backends("sqlite")

JKT = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JKT)


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    agent_id: str
    amount: int
    bank: str = "bca"
    account_no: str = "5270418836"
    created_at: datetime = NOW - timedelta(hours=2)
    expires_at: datetime | None = NOW + timedelta(hours=4)
    status: str = "OPEN"
    approved_at: datetime | None = None


@dataclass(frozen=True)
class Approval:
    ticket_id: str
    outcome: str
    message: str = ""


class FakeOtomax:
    """The transaction server as far as approvals go; `fail` scripts what goes wrong."""

    def __init__(self, *tickets):
        self.tickets = {t.ticket_id: t for t in tickets}
        self.clicks, self.fail = 0, []

    def ticket(self, ticket_id):
        return self.tickets.get(ticket_id)

    def balance_log(self, note_contains=None):
        return [e for e in getattr(self, "log", []) if note_contains is None or note_contains in e.note]

    def approve_ticket(self, ticket_id):
        self.clicks += 1
        failure = self.fail.pop(0) if self.fail else None
        if failure == "expired_session":
            raise SessionExpired("otomax", "form refused")
        if failure == "timeout_before":
            raise PortalUnavailable("otomax", "timeout")
        if self.tickets[ticket_id].status != "OPEN":
            return Approval(ticket_id, "already_processed", "Tiket Sudah Diproses")
        self.tickets[ticket_id] = replace(self.tickets[ticket_id], status="APPROVED")
        if failure == "drop_after":
            raise PortalUnavailable("otomax", "connection dropped: outcome unknown")
        return Approval(ticket_id, "approved")


class Inbox:
    def __init__(self):
        self.sent = []

    def send(self, title, body):
        self.sent.append(title)
        return True


@pytest.fixture
def setup(store):
    store.start_run("reconcile_payments", "run-1", NOW)
    ledger = Ledger(store)
    line = StatementLine("bca", "5270418836", NOW.date(), None, "TRSF E-BANKING CR BUDI", Decimal("500123.00"), "CR",
                         Decimal("10500123.00"), False, 7)
    ledger.add(Statement("bca", "5270418836", None, None, [line], "bca-individual", "x.csv"), "x.csv", "run-1", NOW)
    return store, ledger


def executor(store, ledger, otomax, inbox=None):
    return Executor(store, ledger, otomax, inbox or Inbox(), "run-1", lambda: NOW)


def intend(store, outcome):
    """What a run recorded before it was killed: the approval's intent."""
    store.record_intent(approval_key("TK1"), "reconcile_payments", "approve_ticket",
                        {"ticket_id": "TK1", "line": outcome.fingerprint, "agent_id": "AG1", "amount": 500123},
                        "run-1", NOW)


def plan(ledger, otomax):
    return decide(ledger.undecided(), otomax.tickets.values(), ledger.claimed_tickets())


def test_approves_once_and_records_done(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    [outcome] = plan(ledger, otomax)
    assert executor(store, ledger, otomax).carry_out(outcome).code == AUTO_CREDITED
    assert otomax.clicks == 1 and store.get_action(approval_key("TK1")).state == "done"
    assert ledger.undecided() == [] and plan(ledger, otomax) == []


def test_dropped_answer_is_read_back_from_the_portal_not_clicked_again(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    otomax.fail = ["drop_after"]
    [outcome] = plan(ledger, otomax)
    assert executor(store, ledger, otomax).carry_out(outcome).code == AUTO_CREDITED
    assert otomax.clicks == 1 and store.get_action(approval_key("TK1")).result["how"] == "verified after a lost answer"


def test_unknown_outcome_with_portal_down_is_recovered_by_the_next_run(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    otomax.fail = ["timeout_before"]
    [outcome] = plan(ledger, otomax)
    with pytest.raises(PortalUnavailable):
        executor(store, ledger, otomax).carry_out(outcome)
    assert store.get_action(approval_key("TK1")).state == "failed"  # read back: the ticket is still OPEN
    [recovered] = executor(store, ledger, otomax).recover()
    assert recovered.code == AUTO_CREDITED and otomax.clicks == 2  # still OPEN: the click never landed
    assert otomax.tickets["TK1"].status == "APPROVED"


def test_in_flight_and_approved_means_ours(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    [outcome] = plan(ledger, otomax)
    intend(store, outcome)
    store.mark_in_flight(approval_key("TK1"), NOW)
    otomax.tickets["TK1"] = replace(otomax.tickets["TK1"], status="APPROVED")  # the click landed, then: kill -9
    [recovered] = executor(store, ledger, otomax).recover()
    assert recovered.code == AUTO_CREDITED and otomax.clicks == 0


def test_approved_before_the_transfer_means_someone_else(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    [outcome] = plan(ledger, otomax)
    intend(store, outcome)
    line_time = ledger.credit_line(outcome.fingerprint).when()
    otomax.tickets["TK1"] = replace(otomax.tickets["TK1"], status="APPROVED",  # by hand, before the money came
                                    approved_at=datetime.combine(line_time, datetime.min.time(), JKT)
                                    - timedelta(hours=1))
    inbox = Inbox()
    [recovered] = executor(store, ledger, otomax, inbox).recover()
    assert recovered.code == TICKET_ALREADY_PROCESSED and otomax.clicks == 0
    assert store.get_action(approval_key("TK1")).state == "refused"
    assert len(inbox.sent) == 1 and "TICKET_ALREADY_PROCESSED" in inbox.sent[0]


def test_approved_at_the_server_after_the_transfer_is_recorded_not_clicked(setup):
    """A run whose memory was lost, another host, or a person clicked first: the ticket is
    approved at the server, so this line's credit is recorded as found there, never clicked."""
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    [outcome] = plan(ledger, otomax)
    otomax.tickets["TK1"] = replace(otomax.tickets["TK1"], status="APPROVED", approved_at=NOW + timedelta(hours=1))
    inbox = Inbox()
    final = executor(store, ledger, otomax, inbox).carry_out(outcome)
    assert final.code == AUTO_CREDITED and otomax.clicks == 0 and inbox.sent == []
    assert store.get_action(approval_key("TK1")).result["how"] == "approved at the portal"


def test_a_ticket_the_server_refuses_is_escalated_and_the_run_goes_on(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    otomax.approve_ticket = lambda ticket_id: Approval(ticket_id, "refused", "Agen Tidak Ditemukan: AG1")
    [outcome] = plan(ledger, otomax)
    inbox = Inbox()
    final = executor(store, ledger, otomax, inbox).carry_out(outcome)
    assert final.code == APPROVAL_REFUSED and "Agen Tidak Ditemukan" in final.reason
    assert store.get_action(approval_key("TK1")).state == "refused"
    assert ledger.escalations()[0].code == APPROVAL_REFUSED and len(inbox.sent) == 1
    assert executor(store, ledger, otomax, inbox).recover() == []  # nothing left in flight to recover


def test_session_expired_before_the_click_logs_in_again_and_acts(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    otomax.fail = ["expired_session"]
    [outcome] = plan(ledger, otomax)
    assert executor(store, ledger, otomax).carry_out(outcome).code == AUTO_CREDITED
    assert otomax.clicks == 2 and otomax.tickets["TK1"].status == "APPROVED"


def test_done_approval_whose_outcome_was_not_written_is_settled_first(setup):
    store, ledger = setup
    otomax = FakeOtomax(Ticket("TK1", "AG1", 500123))
    [outcome] = plan(ledger, otomax)
    intend(store, outcome)
    store.mark_in_flight(approval_key("TK1"), NOW)
    store.mark_done(approval_key("TK1"), {"how": "approved"}, NOW)  # then killed before the line's outcome
    otomax.tickets["TK1"] = replace(otomax.tickets["TK1"], status="APPROVED")
    [recovered] = executor(store, ledger, otomax).recover()
    assert recovered.code == AUTO_CREDITED and ledger.undecided() == []


def test_escalation_notified_once_even_when_recovered(setup):
    store, ledger = setup
    otomax = FakeOtomax()  # no ticket at all
    inbox = Inbox()
    [outcome] = plan(ledger, otomax)
    executor(store, ledger, otomax, inbox).carry_out(outcome)
    executor(store, ledger, otomax, inbox).recover()
    assert len(inbox.sent) == 1 and ledger.escalations()[0].notified_at is not None


@dataclass(frozen=True)
class Entry:
    agent_id: str
    amount: int
    note: str


def test_a_line_already_credited_by_hand_is_recorded_resolved_not_escalated_again(setup):
    """The store was lost (or is another host's): the balance log still shows finance's add with
    the line's marker, so the line's new escalation is closed as resolved, never sent again."""
    from bots.reconcile.act import line_marker

    store, ledger = setup
    otomax = FakeOtomax()  # no ticket: the line escalates
    [outcome] = plan(ledger, otomax)
    otomax.log = [Entry("AG7", 500123, f"{line_marker(outcome.fingerprint)} transfer manual Budi")]
    inbox = Inbox()
    executor(store, ledger, otomax, inbox).carry_out(outcome)
    [escalation] = ledger.escalations()
    assert (escalation.status, escalation.agent_id) == ("RESOLVED", "AG7") and inbox.sent == []
    assert store.get_action(f"manual:{outcome.fingerprint}").result["how"] == "found in the balance log"
