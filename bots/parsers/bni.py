"""BNI account statement CSV: ``Post Date,Value Date,Branch,Journal No.,Description,Debit,Credit,``.

The trailing comma gives every row an empty last cell. Dates are ``DD/MM/YY HH.MM.SS`` (dots
in the time); ``posted_on`` and ``posted_at`` come from Post Date. `` | `` separates the parts
of a description; they are kept, each whitespace-normalised. Rows name no account and carry
no balance: the account comes from a preamble line (``Account No : …``/``No. Rekening : …``)
or the caller's ``account_no``, else the file is rejected.
"""

from __future__ import annotations

from datetime import date, datetime

from bots.errors import InputFileError

from . import base
from .model import Statement, StatementLine
from .values import (day_month_year, normalise_description, one_side, parse_clock,
                     parse_optional_amount, split_clock)

COLUMNS = {  # field -> header name (matched in any case, in any order)
    "posted": "Post Date",
    "value_date": "Value Date",
    "branch": "Branch",
    "journal": "Journal No.",
    "description": "Description",
    "debit": "Debit",
    "credit": "Credit",
}
_WANTED = tuple(name.lower() for name in COLUMNS.values())


def _is_header(cells: tuple[str, ...]) -> bool:
    return all(name in cells for name in _WANTED)


def _post_date(raw: str, days: dict[str, date]) -> tuple[date, datetime | None]:
    """``05/09/26 10.15.22`` -> (date, datetime); a bare ``05/09/26`` has no time.

    ``days`` caches the date part: a statement has a few dates and a time on every row.
    """
    day_text, clock = split_clock(raw)
    day = days.get(day_text)
    if day is None:
        day = days[day_text] = day_month_year(day_text)
    if not clock:
        return day, None
    return day, datetime.combine(day, parse_clock(clock, "." if "." in clock else ":"))


def _description(raw: str) -> str:
    """Description parts joined by `` | ``, each part's whitespace normalised, empty parts gone."""
    text = normalise_description(raw)
    if "|" in text:
        text = " | ".join(filter(None, map(str.strip, text.split("|"))))
    return text


class BniCsv:
    """BNI internet banking statement ``.csv``."""

    name = "bni-csv"
    bank = "bni"

    def identify(self, text: str) -> bool:
        return base.find_header(text, ",", _is_header) is not None

    def parse(self, text: str, source: str, *, today: date | None = None,
              account_no: str | None = None) -> Statement:
        found = base.find_header(text, ",", _is_header)
        if found is None:
            raise InputFileError(source, "no BNI header in the first lines", line=1)
        header_index, header = found
        account_line, account = base.preamble_account(source, base.preamble(text, header_index))
        account = base.resolve_account(source, account, account_no, account_line)
        columns = base.Columns.by_name(header, COLUMNS)
        at = columns.index
        width = len(header)
        last = max(COLUMNS, key=at.__getitem__)
        lines: list[StatementLine] = []
        days: dict[str, date] = {}
        for line, row in base.rows(text, header_index, ",", source):
            field = "posted"
            try:
                if len(row) != width:
                    base.check_width(source, line, row, columns, last)
                posted_on, posted_at = _post_date(row[at["posted"]], days)
                field = "debit"
                debit = parse_optional_amount(row[at["debit"]])
                field = "credit"
                credit = parse_optional_amount(row[at["credit"]])
                amount, direction = one_side(credit, debit)
            except ValueError as exc:
                raise base.cell_error(source, line, columns, field, str(exc), row) from None
            lines.append(StatementLine("bni", account, posted_on, posted_at,
                                       _description(row[at["description"]]), amount, direction,
                                       None, False, line))
        return Statement("bni", account, None, None, lines, self.name, source)


CSV = BniCsv()
