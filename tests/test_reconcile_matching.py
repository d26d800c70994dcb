"""Decide (pure): every code, and the properties money depends on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from bots.reconcile.matching import (AMBIGUOUS_TICKETS, AMOUNT_MISMATCH, AUTO_CREDITED, CREDIT_CODES,
                                     DEBIT_IGNORED, NO_MATCHING_TICKET, NO_TICKET_ROUND_AMOUNT,
                                     TICKET_ALREADY_PROCESSED, TICKET_EXPIRED, CreditLine, decide, match_line)

JKT = ZoneInfo("Asia/Jakarta")
NINE = datetime(2026, 11, 23, 9, 0, tzinfo=JKT)
ACCOUNT = ("bca", "5270418836")


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    agent_id: str
    amount: int
    bank: str = ACCOUNT[0]
    account_no: str = ACCOUNT[1]
    created_at: datetime = NINE - timedelta(hours=1)
    expires_at: datetime | None = NINE + timedelta(hours=6)
    status: str = "OPEN"
    approved_at: datetime | None = None


def line(amount, fp="L1", direction="CR", at=NINE, on=None, account=ACCOUNT):
    return CreditLine(fp, account[0], account[1], Decimal(amount), direction, on or at.date() if at else on,
                      at if on is None else None)


def test_exactly_one_open_ticket_credits():
    outcome = match_line(line(500123), [Ticket("TK1", "AG1", 500123), Ticket("TK2", "AG2", 250087)], set())
    assert (outcome.code, outcome.ticket_id, outcome.agent_id) == (AUTO_CREDITED, "TK1", "AG1")


def test_two_open_tickets_with_the_same_amount_are_ambiguous():
    outcome = match_line(line(500123), [Ticket("TK1", "AG1", 500123), Ticket("TK2", "AG2", 500123)], set())
    assert outcome.code == AMBIGUOUS_TICKETS and outcome.candidates == ("TK1", "TK2") and outcome.ticket_id is None


def test_amount_off_by_the_unique_code_or_less_than_a_thousand_is_a_mismatch():
    tickets = [Ticket("TK1", "AG1", 500123)]
    assert match_line(line(500000), tickets, set()).code == AMOUNT_MISMATCH  # the code was left off
    assert match_line(line(500120), tickets, set()).code == AMOUNT_MISMATCH  # a typo
    outcome = match_line(line(500124), tickets, set())
    assert outcome.code == AMOUNT_MISMATCH and outcome.candidates == ("TK1",)
    assert "TK1" in outcome.reason


def test_round_amount_without_a_ticket_is_a_manual_transfer():
    outcome = match_line(line(1000000), [Ticket("TK1", "AG1", 500123)], set())
    assert outcome.code == NO_TICKET_ROUND_AMOUNT and "Transfer Manual" in outcome.reason


def test_odd_amount_without_a_ticket():
    assert match_line(line(734512), [Ticket("TK1", "AG1", 500123)], set()).code == NO_MATCHING_TICKET


def test_other_account_or_bank_never_matches():
    other = line(500123, account=("bca", "9999999999"))
    assert match_line(other, [Ticket("TK1", "AG1", 500123)], set()).code == NO_MATCHING_TICKET
    mandiri = line(500123, account=("mandiri", ACCOUNT[1]))
    assert match_line(mandiri, [Ticket("TK1", "AG1", 500123)], set()).code == NO_MATCHING_TICKET


def test_expired_ticket():
    ticket = Ticket("TK1", "AG1", 500123, expires_at=NINE - timedelta(minutes=1))
    assert match_line(line(500123), [ticket], set()).code == TICKET_EXPIRED
    assert match_line(line(500123), [Ticket("TK1", "AG1", 500123, status="EXPIRED")], set()).code == TICKET_EXPIRED


def test_ticket_already_approved_or_paid_by_another_line():
    before = Ticket("TK1", "AG1", 500123, status="APPROVED", approved_at=NINE - timedelta(minutes=1))
    assert match_line(line(500123), [before], set()).code == TICKET_ALREADY_PROCESSED
    assert match_line(line(500123), [Ticket("TK1", "AG1", 500123)], {"TK1"}).code == TICKET_ALREADY_PROCESSED
    after = Ticket("TK1", "AG1", 500123, status="APPROVED", approved_at=NINE + timedelta(minutes=1))
    assert match_line(line(500123), [after], {"TK1"}).code == TICKET_ALREADY_PROCESSED  # paid by another line


def test_ticket_approved_after_the_transfer_is_this_lines_credit_found_at_the_server():
    """A lost store, a second host, or a person approving first: the server shows the ticket
    approved after the transfer and no line of ours paid it, so this line is credited (read
    back, never clicked again), not escalated for a second, manual credit."""
    after = Ticket("TK1", "AG1", 500123, status="APPROVED", approved_at=NINE + timedelta(minutes=3))
    outcome = match_line(line(500123), [after], set())
    assert (outcome.code, outcome.ticket_id) == (AUTO_CREDITED, "TK1")
    unknown = Ticket("TK1", "AG1", 500123, status="APPROVED")  # no approval time shown: finance checks
    assert match_line(line(500123), [unknown], set()).code == TICKET_ALREADY_PROCESSED
    [first, second] = decide([line(500123, "L1"), line(500123, "L2", at=NINE + timedelta(minutes=1))],
                             [Ticket("TK1", "AG1", 500123, status="APPROVED", approved_at=NINE + timedelta(hours=1))])
    assert (first.code, second.code) == (AUTO_CREDITED, TICKET_ALREADY_PROCESSED)


def test_ticket_opened_after_the_transfer_does_not_credit():
    late = Ticket("TK1", "AG1", 500123, created_at=NINE + timedelta(minutes=5))
    outcome = match_line(line(500123), [late], set())
    assert outcome.code == NO_MATCHING_TICKET and "setelah transfer" in outcome.reason


def test_a_date_only_statement_compares_dates():
    same_day_later = Ticket("TK1", "AG1", 500123, created_at=NINE + timedelta(hours=5))
    dated = CreditLine("L1", *ACCOUNT, Decimal(500123), "CR", posted_on=NINE.date())
    assert match_line(dated, [same_day_later], set()).code == AUTO_CREDITED
    next_day = Ticket("TK1", "AG1", 500123, created_at=NINE + timedelta(days=1))
    assert match_line(dated, [next_day], set()).code == NO_MATCHING_TICKET


def test_debits_are_ignored():
    assert match_line(line(500123, direction="DB"), [Ticket("TK1", "AG1", 500123)], set()).code == DEBIT_IGNORED


def test_cents_never_credit():
    assert match_line(line("500123.50"), [Ticket("TK1", "AG1", 500123)], set()).code == AMOUNT_MISMATCH


def test_the_first_of_two_identical_transfers_pays_the_ticket():
    first = line(500123, fp="B", at=NINE)
    second = line(500123, fp="A", at=NINE + timedelta(minutes=3))
    outcomes = {o.fingerprint: o.code for o in decide([second, first], [Ticket("TK1", "AG1", 500123)])}
    assert outcomes == {"B": AUTO_CREDITED, "A": TICKET_ALREADY_PROCESSED}


amounts = st.sampled_from([500123, 500000, 500124, 250087, 1000000, 734512, 100045, 100045])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.tuples(amounts, st.sampled_from(["CR", "CR", "DB"]), st.integers(0, 600)), max_size=12),
       tickets=st.lists(st.tuples(amounts, st.sampled_from(["OPEN", "OPEN", "APPROVED", "EXPIRED"]),
                                  st.integers(-120, 120)), max_size=8),
       taken=st.sets(st.sampled_from([f"TK{n}" for n in range(8)]), max_size=3))
def test_properties_one_code_per_line_no_double_credit_exact_amounts_only(lines, tickets, taken):
    ticket_list = [Ticket(f"TK{n}", f"AG{n}", amount, status=status, created_at=NINE + timedelta(minutes=offset))
                   for n, (amount, status, offset) in enumerate(tickets)]
    line_list = [line(amount, fp=f"L{n}", direction=direction, at=NINE + timedelta(minutes=minute))
                 for n, (amount, direction, minute) in enumerate(lines)]
    outcomes = decide(line_list, ticket_list, taken)
    assert sorted(o.fingerprint for o in outcomes) == sorted(ln.fingerprint for ln in line_list)  # one each
    by_line = {ln.fingerprint: ln for ln in line_list}
    by_ticket = {t.ticket_id: t for t in ticket_list}
    credited = [o.ticket_id for o in outcomes if o.code == AUTO_CREDITED]
    assert len(credited) == len(set(credited))  # no ticket twice
    assert not set(credited) & taken  # never one paid before
    for o in outcomes:
        src = by_line[o.fingerprint]
        assert o.code in CREDIT_CODES if src.direction == "CR" else o.code == DEBIT_IGNORED
        if o.code == AUTO_CREDITED:
            ticket = by_ticket[o.ticket_id]
            # exact amounts only; an APPROVED ticket is one the server credited after this transfer
            assert Decimal(ticket.amount) == src.amount and ticket.status in ("OPEN", "APPROVED")
            assert ticket.created_at <= src.posted_at and (src.account_no, src.bank) == (ticket.account_no, ticket.bank)
