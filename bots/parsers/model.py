"""Normalised statement lines (mutasi rekening) and their stable identity (DESIGN §5).

Every format parser returns a ``Statement`` of ``StatementLine`` values; nothing downstream
knows which bank or export wrote them.

Identity (v2). ``fingerprint(line, occurrence)`` is a sha256 over what **every** export of the
same money carries: the bank, the account, the day (the posted date; for a pending line the
bank's transaction date when the export gives one, else ``PEND``), the description reduced to
its letters and digits in upper case, the amount, the direction, and the line's occurrence
number among lines identical in all of those in the same file. Left out on purpose: the
running balance (KlikBCA Individual has it, Bisnis not), the time of day (not every export of
a bank has it), ``source_line``, spacing, quotes, apostrophe guards, case and punctuation
(Bisnis pads its descriptions; a file saved again may change them). So the same money read
through Individual and Bisnis exports, two overlapping downloads or a file passed by hand is
one line. Identical lines are numbered in file order; every export lists a day's lines in the
bank's posting order and downloads cover whole days, so they number a day's lines alike.

Pending lines. A KlikBCA ``PEND`` row has no posted date; its day in the identity is the
transaction date the bank writes in the description (``TRSF E-BANKING CR 2311/…``: 23/11),
so it usually keeps its fingerprint once posted. ``pending_match_key`` is what survives
posting whatever the date — (bank, account, description, amount, direction) — so the caller
can recognise the posted form of a pending line whose posting date differs and supersede the
pending record rather than count the mutation twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

FINGERPRINT_VERSION = "statement-line/v2"  # change only with a migration of stored fingerprints

_set = object.__setattr__  # bound once for StatementLine.__init__


@dataclass(frozen=True, init=False)
class StatementLine:
    """One line of a bank statement (one mutasi), normalised across banks and exports."""

    bank: str  # 'bca' | 'mandiri' | 'bri' | 'bni'
    account_no: str  # digits only
    posted_on: date | None  # a BCA 'PEND row: the bank's transaction date if given, else None
    posted_at: datetime | None  # naive local time (WIB), when the export has a time
    description: str  # whitespace-normalised, apostrophe guard removed
    amount: Decimal  # rupiah, exact, always two decimal places, never negative
    direction: str  # 'CR' (money in) | 'DB' (money out)
    balance: Decimal | None  # running balance (saldo) after the line, when exported
    pending: bool
    source_line: int  # 1-based physical line of the file where the row starts

    # Written out because the frozen __init__ dataclass generates sets the fields one
    # object.__setattr__ call at a time. Building lines is a third of the time a
    # 100,000-line export takes; setting __dict__ once (hence no slots) made that parse ~15%
    # faster. A test keeps this signature equal to the fields above.
    def __init__(self, bank: str, account_no: str, posted_on: date | None,
                 posted_at: datetime | None, description: str, amount: Decimal, direction: str,
                 balance: Decimal | None, pending: bool, source_line: int, *, _set=_set) -> None:
        _set(self, "__dict__", {
            "bank": bank, "account_no": account_no, "posted_on": posted_on,
            "posted_at": posted_at, "description": description, "amount": amount,
            "direction": direction, "balance": balance, "pending": pending,
            "source_line": source_line})


@dataclass(frozen=True, slots=True)
class Statement:
    """A parsed export: one account's lines in file order, plus what the file says about itself."""

    bank: str
    account_no: str
    period_start: date | None  # as stated by the export (BCA ``Periode``), else None
    period_end: date | None
    lines: list[StatementLine]
    format: str  # the parser's name, e.g. 'bca-individual'
    source: str  # the file name it was read from
    opening_balance: Decimal | None = None  # saldo awal, when the export states it
    closing_balance: Decimal | None = None  # saldo akhir, when the export states it


_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def identity_text(description: str) -> str:
    """The description as the identity sees it: ASCII letters and digits only, upper case."""
    return _NOT_ALNUM.sub("", description.upper())


def _identity(line: StatementLine) -> tuple[str, ...]:
    """Everything a fingerprint covers except the occurrence number, as canonical text."""
    return (
        line.bank,
        line.account_no,
        "PEND" if line.posted_on is None else line.posted_on.isoformat(),
        identity_text(line.description),
        f"{line.amount:.2f}",
        line.direction,
    )


def _digest(identity: tuple[str, ...], occurrence: int) -> str:
    # The unit separator cannot occur in a normalised description, so fields cannot run together.
    text = "\x1f".join((FINGERPRINT_VERSION, *identity, str(occurrence)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(line: StatementLine, occurrence: int = 1) -> str:
    """The line's identity as 64 hex digits; ``occurrence`` counts identical lines from 1."""
    if occurrence < 1:
        raise ValueError("occurrence numbers start at 1")
    return _digest(_identity(line), occurrence)


def with_occurrences(lines: Iterable[StatementLine]) -> list[tuple[StatementLine, str]]:
    """Each line of one file with its fingerprint, identical lines numbered 1, 2, … in file order.

    Call it per file (per ``Statement``): numbering across a concatenation of overlapping
    files would give the overlap new numbers and count it twice.
    """
    seen: dict[tuple[str, ...], int] = {}
    result = []
    for line in lines:
        identity = _identity(line)
        seen[identity] = occurrence = seen.get(identity, 0) + 1
        result.append((line, _digest(identity, occurrence)))
    return result


def pending_match_key(line: StatementLine) -> tuple[str, str, str, str, str]:
    """What a pending line keeps once posted: bank, account, description, amount, direction.

    Date and running balance are not in it because posting sets the one and may change the
    other. Two equal pending lines (two identical fees) match posted lines one for one, in order.
    """
    return (line.bank, line.account_no, identity_text(line.description), f"{line.amount:.2f}",
            line.direction)


def dump(statement: Statement) -> str:
    """A readable text dump of a statement, the form golden ``.expected`` files are written in."""
    def money(value: Decimal | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    period = f"{statement.period_start or '-'} .. {statement.period_end or '-'}"
    out = [
        f"# format: {statement.format}  bank: {statement.bank}  account: {statement.account_no}",
        f"# period: {period}  opening: {money(statement.opening_balance)}"
        f"  closing: {money(statement.closing_balance)}  lines: {len(statement.lines)}",
    ]
    for line, print_ in with_occurrences(statement.lines):
        when = (f"PEND {line.posted_on}" if line.posted_on else "PEND") if line.pending else str(line.posted_on)
        if line.posted_at is not None and line.posted_at.date() == line.posted_on:
            when += f" {line.posted_at:%H:%M:%S}"
        elif line.posted_at is not None:  # BRI: booked on the next business day
            when += f" (at {line.posted_at:%Y-%m-%d %H:%M:%S})"
        balance = "" if line.balance is None else f" bal={line.balance:.2f}"
        out.append(f"L{line.source_line} {when} {line.direction} {line.amount:.2f}{balance}"
                   f" fp={print_[:12]} | {line.description}")
    return "\n".join(out) + "\n"
