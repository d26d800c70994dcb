"""Chaos checks of issue 12 for reconcile_payments (hooked into ReconcileCampaign.check).

- every account's day the bank stated balances for ties out (opening + credits − debits =
  closing, from the store's posted, unreversed lines), or has an open STATEMENT_GAP;
- no workbook cell holds a formula made from outside text (a description starting with `=`);
- a line the store shows PENDING_REVERSED is an open (or closed by a person) escalation,
  never a silent outcome.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path


def tie_out_problems(query) -> list[str]:
    """Days that neither tie out nor carry a gap: money in the store the bank does not show, or missing."""
    try:
        days = query("select bank, account_no, day, opening_balance, closing_balance, gap from statement_days")
    except Exception:  # an older store without the table: nothing to check
        return []
    problems = []
    for bank, account, day, opening, closing, gap in days:
        if opening is None or closing is None or gap is not None:
            continue
        lines = query("select amount, direction from statement_lines where bank = ? and account_no = ? and day = ? "
                      "and pending = 0 and reversed_at is null", (bank, account, day))
        total = sum((Decimal(a) if d == "CR" else -Decimal(a) for a, d in lines), Decimal(0))
        difference = Decimal(opening) + total - Decimal(closing)
        if difference:
            problems.append(f"{bank} {account} {day} does not tie out by {difference} and has no STATEMENT_GAP")
    return problems


def reversed_told(query) -> list[str]:
    try:
        rows = query("select l.fingerprint, e.status from statement_lines l left join escalations e "
                     "on e.fingerprint = l.fingerprint where l.reversed_at is not null")
    except Exception:
        return []
    return [f"PEND line {fp[:12]} reversed without an escalation" for fp, status in rows if status is None]


def formula_cells(reports: Path) -> list[str]:
    """Cells that are formulas other than our own totals (SUBTOTAL)."""
    from openpyxl import load_workbook

    found = []
    for path in sorted(reports.glob("rekonsiliasi/rekonsiliasi-*.xlsx")):
        book = load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f" and not str(cell.value).startswith("=SUBTOTAL("):
                        found.append(f"{path.name} {sheet.title}!{cell.coordinate} is a formula: {cell.value!r}")
    return found


def checks(campaign) -> list[str]:
    """Issue 12's invariants for one reconcile scenario."""
    problems = tie_out_problems(campaign.query) + reversed_told(campaign.query)
    reports = campaign.folder / "reports"
    if reports.exists():
        problems += formula_cells(reports)
    return problems
