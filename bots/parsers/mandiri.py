"""Mandiri MCM/Kopra account statement: semicolon CSV, one row per mutation, account in each row.

Dates read ``03 August 2026 11:27:10`` with English or Indonesian month names (full or short);
Remarks are space-padded and continue in AdditionalDesc, so the description is both, joined
and whitespace-normalised. Exactly one of Credit Amount and Debit Amount is non-zero.
A header with no rows names no account: it is a valid empty statement only when the caller
passes ``account_no``.
"""

from __future__ import annotations

from datetime import date

from bots.errors import InputFileError

from . import base
from .model import Statement, StatementLine
from .values import (normalise_description, one_side, parse_account, parse_amount,
                     parse_month_name_date, parse_optional_amount)

COLUMNS = {  # field -> header name (matched in any case, in any order)
    "account": "AccountNo",
    "currency": "Ccy",
    "posted": "PostDate",
    "remarks": "Remarks",
    "additional": "AdditionalDesc",
    "credit": "Credit Amount",
    "debit": "Debit Amount",
    "balance": "Close Balance",
}
_WANTED = tuple(name.lower() for name in COLUMNS.values())


def _is_header(cells: tuple[str, ...]) -> bool:
    return all(name in cells for name in _WANTED)


class MandiriMcm:
    """Mandiri MCM/Kopra ``.csv`` (semicolon-delimited)."""

    name = "mandiri-mcm"
    bank = "mandiri"

    def identify(self, text: str) -> bool:
        return base.find_header(text, ";", _is_header) is not None

    def parse(self, text: str, source: str, *, today: date | None = None,
              account_no: str | None = None) -> Statement:
        found = base.find_header(text, ";", _is_header)
        if found is None:
            raise InputFileError(source, "no Mandiri MCM header in the first lines", line=1)
        header_index, header = found
        columns = base.Columns.by_name(header, COLUMNS)
        at = columns.index
        width = len(header)
        last = max(COLUMNS, key=at.__getitem__)
        lines: list[StatementLine] = []
        account = raw_account = first_line = None
        days: dict = {}  # date part -> date: few dates, a time on every row
        for line, row in base.rows(text, header_index, ";", source):
            field = "account"
            try:
                if len(row) != width:
                    base.check_width(source, line, row, columns, last)
                if row[at["account"]] != raw_account:
                    if raw_account is not None:
                        raise ValueError(f"a second account in one statement (first: {account})")
                    raw_account, first_line = row[at["account"]], line
                    account = parse_account(raw_account)
                field = "currency"
                if row[at["currency"]].strip().upper() != "IDR":
                    raise ValueError("only IDR statements are supported")
                field = "posted"
                posted_on, posted_at = parse_month_name_date(row[at["posted"]], days)
                field = "credit"
                credit = parse_optional_amount(row[at["credit"]])
                field = "debit"
                debit = parse_optional_amount(row[at["debit"]])
                field = "credit"
                amount, direction = one_side(credit, debit)
                field = "balance"
                balance = parse_amount(row[at["balance"]])
            except ValueError as exc:
                raise base.cell_error(source, line, columns, field, str(exc), row) from None
            description = normalise_description(row[at["remarks"]] + " " + row[at["additional"]])
            lines.append(StatementLine("mandiri", account, posted_on, posted_at, description,
                                       amount, direction, balance, False, line))
        account = base.resolve_account(source, account, account_no, first_line)
        return Statement("mandiri", account, None, None, lines, self.name, source)


MCM = MandiriMcm()
