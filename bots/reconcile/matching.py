"""Decide (pure): which deposit ticket, if any, a credit line (mutasi kredit) pays.

The procedure (SOP "Tiket Deposit"): the agent must transfer **exactly** the ticket amount,
unique code included, to the ticket's account. So only an exact amount on the same account,
sent after the ticket was opened and before it expired, credits; everything else goes to
finance with a code saying why. No tolerance ever credits. No I/O, no clock: `now` is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterable, Protocol
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

AUTO_CREDITED = "AUTO_CREDITED"
AMBIGUOUS_TICKETS = "AMBIGUOUS_TICKETS"
AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
NO_TICKET_ROUND_AMOUNT = "NO_TICKET_ROUND_AMOUNT"
NO_MATCHING_TICKET = "NO_MATCHING_TICKET"
TICKET_EXPIRED = "TICKET_EXPIRED"
TICKET_ALREADY_PROCESSED = "TICKET_ALREADY_PROCESSED"
DEBIT_IGNORED = "DEBIT_IGNORED"
#: The server refused the approval (an agent it no longer knows, …), or its outcome is in doubt.
APPROVAL_REFUSED = "APPROVAL_REFUSED"
#: A PEND line gone from the bank's statement without posting (its credit, if any, to take back).
PENDING_REVERSED = "PENDING_REVERSED"
#: An account's day does not tie out (opening + credits − debits ≠ closing): lines are missing.
STATEMENT_GAP = "STATEMENT_GAP"

#: An undated PEND line (no transaction day in its description) first seen before this hour
#: (WIB) may be last night's transfer: it waits until it posts, with the bank's date.
UNDATED_PENDING_SAFE_FROM_HOUR = 6

#: Every code a credit line can end with; all but AUTO_CREDITED are escalated to finance.
CREDIT_CODES = (AUTO_CREDITED, AMBIGUOUS_TICKETS, AMOUNT_MISMATCH, NO_TICKET_ROUND_AMOUNT,
                NO_MATCHING_TICKET, TICKET_EXPIRED, TICKET_ALREADY_PROCESSED, APPROVAL_REFUSED)
ESCALATED = frozenset(CREDIT_CODES) - {AUTO_CREDITED}

#: A transfer this close to an open ticket's amount is probably that ticket, sent wrong.
NEAR_MISS = Decimal(1000)
#: The unique code the ticket system adds is below this (Rp 500.000 → Rp 500.123).
UNIQUE_CODE_UNIT = 1000


class TicketLike(Protocol):
    ticket_id: str
    agent_id: str
    amount: int
    bank: str
    account_no: str
    created_at: datetime
    expires_at: datetime | None
    status: str


@dataclass(frozen=True)
class CreditLine:
    """What matching needs to know of a statement line."""

    fingerprint: str
    bank: str
    account_no: str
    amount: Decimal
    direction: str
    posted_on: date | None = None       # the statement's date (None for a BCA PEND row)
    posted_at: datetime | None = None   # aware, when the export has a time
    seen_at: datetime | None = None     # when we first read it (the date of an undated PEND row)
    pending: bool = False               # a KlikBCA PEND row, not posted yet

    def when(self) -> datetime | date:
        """The transfer's moment as precisely as the statement tells it."""
        if self.posted_at is not None:
            return self.posted_at
        if self.posted_on is not None:
            return self.posted_on
        return self.seen_at.astimezone(JAKARTA).date() if self.seen_at else date.max


@dataclass(frozen=True)
class Outcome:
    """One line's decision: its code, the reason in the staff's words, and the ticket(s)."""

    fingerprint: str
    code: str
    reason: str
    ticket_id: str | None = None
    agent_id: str | None = None
    candidates: tuple[str, ...] = field(default_factory=tuple)

    @property
    def credits(self) -> bool:
        return self.code == AUTO_CREDITED

    @property
    def escalates(self) -> bool:
        return self.code in ESCALATED


def _before(moment: datetime, when: datetime | date) -> bool:
    """Was `moment` at or before the transfer? A date-only statement compares dates."""
    if isinstance(when, datetime):
        return moment <= when
    return moment.astimezone(JAKARTA).date() <= when


def _expired(ticket: TicketLike, when: datetime | date) -> bool:
    return ticket.status == "EXPIRED" or _expired_before(ticket, when)


def _expired_before(ticket: TicketLike, when: datetime | date) -> bool:
    """Had the ticket expired when the transfer came (its status aside)?"""
    if ticket.expires_at is None:
        return False
    if isinstance(when, datetime):
        return when > ticket.expires_at
    return when > ticket.expires_at.astimezone(JAKARTA).date()


def _approved_after(ticket: TicketLike, when: datetime | date) -> bool:
    """Was the ticket approved at or after the transfer? Unknown (no time shown): no."""
    approved_at: datetime | None = getattr(ticket, "approved_at", None)
    if approved_at is None:
        return False
    if isinstance(when, datetime):
        return approved_at >= when
    return approved_at.astimezone(JAKARTA).date() >= when


def rupiah(amount: int | Decimal | str) -> str:
    return "Rp " + f"{int(Decimal(amount)):,}".replace(",", ".")


def match_line(line: CreditLine, tickets: Iterable[TicketLike], taken: set[str]) -> Outcome:
    """The outcome of one line against the tickets; `taken` are tickets already paid by a line."""
    fp = line.fingerprint
    if line.direction != "CR":
        return Outcome(fp, DEBIT_IGNORED, "Mutasi debet: bukan setoran, tidak diproses")
    same_account = [t for t in tickets if t.bank == line.bank and t.account_no == line.account_no]
    exact = [t for t in same_account if Decimal(t.amount) == line.amount]
    when = line.when()
    payable = [t for t in exact if t.status == "OPEN" and t.ticket_id not in taken
               and _before(t.created_at, when) and not _expired(t, when)]
    if not payable:
        # a ticket the server already shows approved after this transfer, that no line of ours
        # has paid: this line's credit was given (by a run whose memory was lost, another host,
        # or by hand); the executor reads it back from the server instead of clicking
        payable = [t for t in exact if t.status == "APPROVED" and t.ticket_id not in taken
                   and _before(t.created_at, when) and not _expired_before(t, when)
                   and _approved_after(t, when)]
    if len(payable) == 1:
        ticket = payable[0]
        return Outcome(fp, AUTO_CREDITED, f"Cocok dengan tiket {ticket.ticket_id} ({rupiah(ticket.amount)})",
                       ticket.ticket_id, ticket.agent_id, (ticket.ticket_id,))
    if payable:
        return Outcome(fp, AMBIGUOUS_TICKETS,
                       f"{len(payable)} tiket terbuka dengan nominal sama: {', '.join(ids(payable))}",
                       candidates=ids(payable))
    if exact:
        processed = [t for t in exact if t.status == "APPROVED" or t.ticket_id in taken]
        if processed:
            return Outcome(fp, TICKET_ALREADY_PROCESSED,
                           f"Tiket {', '.join(ids(processed))} sudah diproses (oleh mutasi lain atau manual)",
                           candidates=ids(processed))
        expired = [t for t in exact if _expired(t, when)]
        if expired:
            return Outcome(fp, TICKET_EXPIRED, f"Tiket {', '.join(ids(expired))} sudah kedaluwarsa saat transfer",
                           candidates=ids(expired))
        later = [t for t in exact if t.status == "OPEN" and not _before(t.created_at, when)]
        if later:
            return Outcome(fp, NO_MATCHING_TICKET,
                           f"Tiket {', '.join(ids(later))} dibuat setelah transfer", candidates=ids(later))
        return Outcome(fp, NO_MATCHING_TICKET,
                       f"Tiket {', '.join(ids(exact))} dibatalkan", candidates=ids(exact))
    near = [t for t in same_account if t.status == "OPEN" and t.ticket_id not in taken and (
        abs(Decimal(t.amount) - line.amount) < NEAR_MISS
        or Decimal(t.amount - t.amount % UNIQUE_CODE_UNIT) == line.amount)]
    if near:
        return Outcome(fp, AMOUNT_MISMATCH,
                       f"Nominal {rupiah(line.amount)} tidak sama dengan tiket "
                       + ", ".join(f"{t.ticket_id} ({rupiah(t.amount)})" for t in sorted(near, key=lambda t: t.ticket_id)),
                       candidates=ids(near))
    if line.amount == line.amount.to_integral() and int(line.amount) % UNIQUE_CODE_UNIT == 0:
        return Outcome(fp, NO_TICKET_ROUND_AMOUNT,
                       f"Transfer Manual: {rupiah(line.amount)} tanpa tiket (nominal bulat)")
    return Outcome(fp, NO_MATCHING_TICKET, f"Tidak ada tiket {rupiah(line.amount)} di rekening ini")


def ids(found: Iterable[TicketLike]) -> tuple[str, ...]:
    """The tickets' ids, sorted (for reasons and candidates)."""
    return tuple(sorted(t.ticket_id for t in found))


def waits(line: CreditLine, pending_credits: bool) -> bool:
    """Is a line left undecided for now? A pending credit waits when pending lines may not
    credit (the `pending_credits` setting), or when the bank gives no date and it was first
    seen in the small hours (it may be yesterday's transfer, older than today's tickets)."""
    if not line.pending or line.direction != "CR":
        return False
    if not pending_credits:
        return True
    if line.posted_on is not None:
        return False
    if line.seen_at is None:
        return True
    return line.seen_at.astimezone(JAKARTA).hour < UNDATED_PENDING_SAFE_FROM_HOUR


def decide(lines: Iterable[CreditLine], tickets: Iterable[TicketLike], taken: Iterable[str] = ()) -> list[Outcome]:
    """One outcome per line, earliest transfer first (the first transfer pays a ticket).

    `taken` are tickets already credited by lines decided in earlier runs.
    """
    tickets = list(tickets)
    claimed = set(taken)
    outcomes = []
    for line in sorted(lines, key=_order):
        outcome = match_line(line, tickets, claimed)
        if outcome.credits and outcome.ticket_id is not None:
            claimed.add(outcome.ticket_id)
        outcomes.append(outcome)
    return outcomes


def _order(line: CreditLine) -> tuple[datetime, str]:
    when = line.when()
    if not isinstance(when, datetime):  # a date: the start of that day (PEND rows last)
        when = (datetime.max.replace(tzinfo=JAKARTA) if when == date.max
                else datetime.combine(when, time.min, JAKARTA))
    return (when, line.fingerprint)
