"""Decide (pure): each account's day ties out — opening + credits − debits = closing.

The balances are the bank's: the running balance (saldo) each line of KlikBCA Individual,
Mandiri MCM and BRI CMS carries (BRI states the balance before every line too); KlikBCA
Bisnis and BNI carry none, so their days have no tie-out of their own (say so, never 0).
The credits and debits are the store's lines of that account and day (posted, not reversed),
so a line missing from the store, or one money stored twice, shows as a difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


class BalancedLine(Protocol):
    posted_on: date | None
    amount: Decimal
    direction: str
    balance: Decimal | None
    pending: bool


@dataclass(frozen=True)
class DayTie:
    """One account's day: the bank's balances, the store's sums, and the difference (0 when it ties)."""

    day: date
    opening: Decimal | None
    credits: Decimal
    debits: Decimal
    closing: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        if self.opening is None or self.closing is None:
            return None
        return self.opening + self.credits - self.debits - self.closing


def signed(amount: Decimal, direction: str) -> Decimal:
    return amount if direction == "CR" else -amount


def day_balances(lines: Iterable[BalancedLine]) -> dict[date, tuple[Decimal, Decimal]]:
    """(opening, closing) per day from a statement's running balances, in file order; days
    whose lines carry no balance are left out (that export has no tie-out)."""
    found: dict[date, tuple[Decimal, Decimal]] = {}
    for line in lines:
        if line.pending or line.posted_on is None or line.balance is None:
            continue
        before = line.balance - signed(line.amount, line.direction)
        opening = found[line.posted_on][0] if line.posted_on in found else before
        found[line.posted_on] = (opening, line.balance)
    return found


def tie(day: date, opening: Decimal | None, closing: Decimal | None,
        amounts: Iterable[tuple[Decimal, str]]) -> DayTie:
    """The day's tie-out from the bank's balances and the store's (amount, direction) lines."""
    credits = debits = Decimal(0)
    for amount, direction in amounts:
        if direction == "CR":
            credits += amount
        else:
            debits += amount
    return DayTie(day, opening, credits, debits, closing)


def discontinuities(days: dict[date, tuple[Decimal | None, Decimal | None]]) -> list[date]:
    """Days whose opening is not the closing of the day before it that has balances: lines
    of the days between (a back-dated posting) were not read."""
    broken = []
    previous: Decimal | None = None
    for day in sorted(days):
        opening, closing = days[day]
        if previous is not None and opening is not None and opening != previous:
            broken.append(day)
        if closing is not None:
            previous = closing
    return broken
