"""KlikBCA mutasi rekening exports: Individual (CR/DB in its own column) and Bisnis ("1.00 CR").

Individual: a preamble (``No. rekening :``, ``Nama :``, ``Periode : DD/MM/YYYY - DD/MM/YYYY``,
``Kode Mata Uang : Rp``), a blank line, the header, apostrophe-guarded rows, then a footer
(``Saldo Awal,=,…`` … or ``"Mutasi Kredit : …"`` …) where reading stops. Dates are
``'DD/MM`` with the year taken from ``Periode`` (``today`` when there is none) or full
``DD/MM/YYYY``; ``'PEND`` rows are pending and have no date yet.

Bisnis: no preamble as usually downloaded (pass ``account_no``), full dates, the direction
inside the amount cell (``"799,700.00 CR"``) and, in the variant some parsers report, a
``Saldo`` column.

A file with a preamble and a header but no rows is a valid empty statement (a day without
mutations); without a preamble it is one only when the caller supplies ``account_no``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from bots.errors import InputFileError

from . import base, values
from .model import Statement, StatementLine
from .values import day_month_year, parse_amount

# Exact header rows (lower-cased, quotes removed) -> the field in each position.
INDIVIDUAL_HEADERS = {
    ("tanggal transaksi", "keterangan", "cabang", "jumlah", "", "saldo"),
    ("tanggal", "keterangan", "cabang", "jumlah", "", "saldo"),
    ("date", "description", "branch", "amount", "", "balance"),
}
INDIVIDUAL_FIELDS = ("date", "description", "branch", "amount", "direction", "balance")
BISNIS_HEADERS = {
    ("tanggal transaksi", "keterangan", "cabang", "jumlah"),
    ("tanggal transaksi", "keterangan", "cabang", "jumlah", "saldo"),
}
BISNIS_FIELDS = ("date", "description", "branch", "amount", "balance")

PERIOD_KEYS = ("periode", "period")
_PERIOD = re.compile(
    r"(\d{1,2}/\d{1,2}/\d{4})\s*(?:-|–|s/d|sd|to|until)\s*(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE)
# Footer rows, by how their first cell starts -> which balance they state (None: a total).
FOOTERS = {
    "saldo awal": "opening", "starting balance": "opening", "opening balance": "opening",
    "saldo akhir": "closing", "ending balance": "closing", "closing balance": "closing",
    "mutasi kredit": None, "mutasi debet": None, "kredit": None, "debet": None,
    "credit": None, "debit": None, "total": None,
}


class KlikBcaExport:
    """One KlikBCA layout; ``split_direction`` tells Individual (own CR/DB column) from Bisnis."""

    bank = "bca"

    def __init__(self, name: str, headers: set[tuple[str, ...]], fields: tuple[str, ...],
                 split_direction: bool):
        self.name, self.headers, self.fields = name, headers, fields
        self.split_direction = split_direction

    def identify(self, text: str) -> bool:
        return base.find_header(text, ",", self.headers.__contains__) is not None

    def parse(self, text: str, source: str, *, today: date | None = None,
              account_no: str | None = None) -> Statement:
        found = base.find_header(text, ",", self.headers.__contains__)
        if found is None:
            raise InputFileError(source, f"no {self.name} header in the first lines", line=1)
        header_index, header = found
        fields = self.fields[: len(header)]  # Bisnis has a Saldo column only in some exports
        columns = base.Columns(header, {f: i for i, f in enumerate(fields)}, {"direction": "CR/DB"})
        info = base.preamble(text, header_index)
        account_line, account = base.preamble_account(source, info)
        account = base.resolve_account(source, account, account_no, account_line)
        period = _preamble_period(source, info)
        lines, balances = self._rows(text, source, header_index, columns, account, period, today)
        return Statement(self.bank, account, period[0] if period else None,
                         period[1] if period else None, lines, self.name, source,
                         balances.get("opening"), balances.get("closing"))

    def _rows(self, text, source, header_index, columns, account, period, today):
        """The statement lines, and the balances the footer states."""
        lines: list[StatementLine] = []
        # Locals, and parse_amount's fast path inlined: this loop runs once per row.
        append, amount_of, line_of, common = (
            lines.append, parse_amount, StatementLine, values.COMMON_AMOUNT.fullmatch)
        dates: dict[str, date | None] = {"'PEND": None, "PEND": None}  # ~31 distinct cells a month
        last = max(columns.index, key=columns.index.__getitem__)
        width = columns.index[last] + 1
        balance_at = columns.index.get("balance")
        split_direction = self.split_direction
        # The reader is driven here rather than through base.rows(): that generator costs
        # about a tenth of the parse time of a large export.
        rows, first = base.reader(text, header_index, ",")
        start = first  # physical line the next row starts on
        with base.csv_errors(source, rows, first):
            for row in rows:
                line, start = start, first + rows.line_num
                if not row:
                    continue
                field = "date"
                try:
                    posted_on = dates.get(row[0], False)
                    if posted_on is False:
                        bare = row[0].strip().lstrip("'").strip()
                        if _footer_kind(bare) is not False:
                            rest = base.numbered(rows, first, start, source)
                            return lines, _footer(source, line, row, rest)
                        if not bare:
                            if not any(row):  # a row of empty cells
                                continue
                            raise ValueError("date is empty")
                        posted_on = dates[row[0]] = (None if bare.upper() == "PEND"
                                                     else _row_date(bare, period, today))
                    if len(row) != width:
                        base.check_width(source, line, row, columns, last)
                    field = "amount"
                    if split_direction:
                        cell = row[3]
                        amount = Decimal(cell.replace(",", "")) if common(cell) else amount_of(cell)
                        field = "direction"
                        direction = row[4]
                        if direction != "CR" and direction != "DB":
                            direction = _direction(direction)
                    else:
                        amount, direction = _amount_with_direction(row[3])
                    field = "balance"
                    if balance_at is None:
                        balance = None
                    else:
                        cell = row[balance_at]
                        balance = (Decimal(cell.replace(",", "")) if common(cell)
                                   else amount_of(cell))
                except ValueError as exc:
                    raise base.cell_error(source, line, columns, field, str(exc), row) from None
                description = " ".join(row[1].split())  # normalise_description, inlined
                if description[:1] == "'":
                    description = description[1:].lstrip()
                pending = posted_on is None
                if pending:
                    posted_on = pending_date(description, period, today)
                append(line_of("bca", account, posted_on, None, description, amount,
                               direction, balance, pending, line))
        return lines, {}


# KlikBCA writes the transaction's DDMM in a transfer's description: TRSF E-BANKING CR 2311/FTSCY/…
_TRANSACTION_DAY = re.compile(r"\b(?:CR|DB)\s+(\d{2})(\d{2})/")
#: a pending row older than this is not one (the DDMM is then no transaction date)
PENDING_DAYS = 7


def pending_date(description: str, period: tuple[date, date] | None,
                 today: date | None) -> date | None:
    """A PEND row's transaction date as the bank writes it in the description, or None.

    The date must fall in the last PENDING_DAYS up to the period's end (or ``today``):
    a row is pending for hours, not weeks, so anything else is not a transaction date.
    """
    match = _TRANSACTION_DAY.search(description)
    end = period[1] if period else today
    if match is None or end is None:
        return None
    try:
        found = _row_date(f"{match[1]}/{match[2]}", period, today)
    except ValueError:
        return None
    if period is not None and found > end:  # a DDMM of last year, in a January statement
        try:
            found = found.replace(year=found.year - 1)
        except ValueError:
            return None
    return found if end - timedelta(days=PENDING_DAYS) <= found <= end else None


def _footer_kind(first_cell: str) -> str | None | bool:
    """'opening'/'closing'/None for a footer row's first cell, False when it is no footer."""
    lowered = first_cell.lower()
    for start, kind in FOOTERS.items():
        if lowered.startswith(start):
            return kind
    return False


def _footer(source: str, line: int, row: list[str], rest) -> dict[str, Decimal]:
    """The balances the footer states: ``Saldo Awal,=,…`` or ``"Saldo Akhir : …"`` rows."""
    balances = {}
    for number, cells in [(line, row), *rest]:
        first = cells[0].strip().lstrip("'")
        kind = _footer_kind(first)
        if not kind:
            continue
        if len(cells) >= 3 and cells[1].strip() == "=":
            raw, column = cells[2], 3
        elif ":" in first:
            raw, column = first.partition(":")[2], 1
        else:
            raw, column = (cells[1] if len(cells) > 1 else ""), 2
        try:
            balances[kind] = parse_amount(raw)
        except ValueError as exc:
            raise InputFileError(source, f"footer {first.split(':')[0].strip()}: {exc}",
                                 line=number, column=column, value=raw) from None
    return balances


def _row_date(bare: str, period: tuple[date, date] | None, today: date | None) -> date:
    """A row's date; a yearless ``DD/MM`` takes its year from the period, else from ``today``."""
    if bare.count("/") != 1:
        return day_month_year(bare)
    month_text = bare.partition("/")[2]
    if not month_text.isdigit():
        raise ValueError("date must be DD/MM or DD/MM/YYYY")
    month = int(month_text)
    if period is not None:
        start, end = period
        # A period crossing a year end: months from the start month on belong to the start year.
        year = start.year if start.year == end.year or month >= start.month else end.year
        return day_month_year(bare, year=year)
    if today is None:
        raise ValueError("date has no year and the file states no Periode (pass today)")
    posted = day_month_year(bare, year=today.year)
    # Without a period the export cannot be from the future: a later date is last year's.
    return posted if posted <= today else day_month_year(bare, year=today.year - 1)


def _direction(cell: str) -> str:
    """``CR``/``DB`` from a padded, lower-case or apostrophe-guarded cell."""
    direction = cell.strip().lstrip("'").upper()
    if direction not in ("CR", "DB"):
        raise ValueError("direction must be CR or DB")
    return direction


def _amount_with_direction(cell: str) -> tuple[Decimal, str]:
    """``"799,700.00 CR"`` -> (Decimal('799700.00'), 'CR')."""
    text = cell.strip()
    direction = text[-2:].upper()
    if direction not in ("CR", "DB"):
        raise ValueError("amount must end with CR or DB, like 799,700.00 CR")
    return parse_amount(text[:-2]), direction


def _preamble_period(source: str, info: dict) -> tuple[date, date] | None:
    for key in PERIOD_KEYS:
        if key in info:
            number, raw = info[key]
            match = _PERIOD.search(raw)
            try:
                if match is None:
                    raise ValueError("expected DD/MM/YYYY - DD/MM/YYYY")
                start, end = day_month_year(match[1]), day_month_year(match[2])
                if start > end:
                    raise ValueError("the period ends before it starts")
            except ValueError as exc:
                raise InputFileError(source, f"Periode not understood: {exc}", line=number,
                                     value=raw) from None
            return start, end
    return None


INDIVIDUAL = KlikBcaExport("bca-individual", INDIVIDUAL_HEADERS, INDIVIDUAL_FIELDS, True)
BISNIS = KlikBcaExport("bca-bisnis", BISNIS_HEADERS, BISNIS_FIELDS, False)
