"""BRI CMS data export: fully quoted CSV with the balance before and after every mutation.

The business date is ``TGL_EFEKTIF``; the moment is ``TGL_TRAN``'s date at ``JAM_TRAN``, an
unpadded ``HHMMSS`` (``3153`` = 00:31:53), so a late transfer booked on the next business day
has ``posted_at`` on the day before ``posted_on``. Every row must satisfy
``SALDO_AWAL_MUTASI − MUTASI_DEBET + MUTASI_KREDIT = SALDO_AKHIR_MUTASI`` within Rp1; a row
that does not is reported on its SALDO_AKHIR_MUTASI cell, because a broken balance means a
mangled export and matching deposits against it would be guesswork.
"""

from __future__ import annotations

from datetime import date, datetime

from bots.errors import InputFileError

from . import base
from .model import Statement, StatementLine
from .values import (normalise_description, one_side, parse_account, parse_amount,
                     parse_iso_day, parse_optional_amount, parse_unpadded_clock)

COLUMNS = {  # field -> header name; later columns (TRUSER, KODE_TRAN, TRREMK, …) are ignored
    "account": "NOREK",
    "transaction_date": "TGL_TRAN",
    "effective_date": "TGL_EFEKTIF",
    "time": "JAM_TRAN",
    "description": "DESK_TRAN",
    "before": "SALDO_AWAL_MUTASI",
    "debit": "MUTASI_DEBET",
    "credit": "MUTASI_KREDIT",
    "after": "SALDO_AKHIR_MUTASI",
    "sign": "GLSIGN",
}
_WANTED = tuple(name.lower() for name in COLUMNS.values())
GLSIGNS = {"db": "DB", "d": "DB", "cr": "CR", "c": "CR", "k": "CR"}
TOLERANCE = 1  # rupiah; BRI rounds some balances (idx:56412033458 checks within ±1)


def _is_header(cells: tuple[str, ...]) -> bool:
    return all(name in cells for name in _WANTED)


class BriCms:
    """BRI Cash Management System ``.csv`` data export."""

    name = "bri-cms"
    bank = "bri"

    def identify(self, text: str) -> bool:
        return base.find_header(text, ",", _is_header) is not None

    def parse(self, text: str, source: str, *, today: date | None = None,
              account_no: str | None = None) -> Statement:
        found = base.find_header(text, ",", _is_header)
        if found is None:
            raise InputFileError(source, "no BRI CMS header in the first lines", line=1)
        header_index, header = found
        columns = base.Columns.by_name(header, COLUMNS)
        at = columns.index
        width = len(header)
        last = max(COLUMNS, key=at.__getitem__)
        lines: list[StatementLine] = []
        account = raw_account = first_line = None
        for line, row in base.rows(text, header_index, ",", source):
            field = "account"
            try:
                if len(row) != width:
                    base.check_width(source, line, row, columns, last)
                if row[at["account"]] != raw_account:
                    if raw_account is not None:
                        raise ValueError(f"a second account in one statement (first: {account})")
                    raw_account, first_line = row[at["account"]], line
                    account = parse_account(raw_account)
                field = "effective_date"
                posted_on = parse_iso_day(row[at["effective_date"]])
                field = "transaction_date"
                day = parse_iso_day(row[at["transaction_date"]])
                field = "time"
                posted_at = datetime.combine(day, parse_unpadded_clock(row[at["time"]]))
                field = "before"
                before = parse_amount(row[at["before"]])
                field = "debit"
                debit = parse_optional_amount(row[at["debit"]])
                field = "credit"
                credit = parse_optional_amount(row[at["credit"]])
                amount, direction = one_side(credit, debit)
                field = "after"
                after = parse_amount(row[at["after"]])
                if abs(before - debit + credit - after) > TOLERANCE:
                    raise ValueError(f"balance does not add up: {before} - {debit} + {credit}"
                                     f" = {before - debit + credit}")
                field = "sign"
                sign = GLSIGNS.get(row[at["sign"]].strip().lower(), direction)
                if sign != direction:
                    raise ValueError(f"GLSIGN says {sign} but the amount is a {direction}")
            except ValueError as exc:
                raise base.cell_error(source, line, columns, field, str(exc), row) from None
            lines.append(StatementLine("bri", account, posted_on, posted_at,
                                       normalise_description(row[at["description"]]),
                                       amount, direction, after, False, line))
        account = base.resolve_account(source, account, account_no, first_line)
        return Statement("bri", account, None, None, lines, self.name, source)


CMS = BriCms()
