"""Cell values of bank exports: amounts, account numbers, descriptions, dates.

Each converter takes the raw cell text and returns a value or raises ``ValueError`` with a
short reason; the format modules turn that into an ``InputFileError`` naming file, line and
column. They are called once per cell of files with 100,000 lines, so each common shape is
recognised by one precompiled pattern, and the slower checks run only for unusual cells and
to explain a rejection.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal

# The two shapes nearly every cell has: 150000.00 and "1,500,000.00".
COMMON_AMOUNT = re.compile(r"[0-9]+\.[0-9]{2}|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]{2}")
_ANY_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?|\.[0-9]{1,2}")
# Thousands commas must group by three, or "150000,00" (a decimal comma) would silently
# become 15 million.
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?")
_DECIMAL_COMMA = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]*)?|[0-9]+,[0-9]{1,2}")

MONTHS = {
    # English and Indonesian month names as Mandiri MCM/Kopra writes them (full and short).
    name: number
    for number, names in enumerate(
        (
            ("january", "januari", "jan"),
            ("february", "februari", "feb", "peb", "pebruari"),
            ("march", "maret", "mar"),
            ("april", "apr"),
            ("may", "mei"),
            ("june", "juni", "jun"),
            ("july", "juli", "jul"),
            ("august", "agustus", "aug", "agu", "agt", "ags"),
            ("september", "sep", "sept"),
            ("october", "oktober", "oct", "okt"),
            ("november", "nopember", "nov", "nop"),
            ("december", "desember", "dec", "des"),
        ),
        start=1,
    )
    for name in names
}


def parse_amount(raw: str) -> Decimal:
    """A non-negative rupiah amount with a dot decimal, as a ``Decimal`` with two places.

    Accepts ``1500000.00``, ``1,500,000.00``, `` 20,000 `` and ``.00``; rejects a decimal
    comma (``1.500.000,00``), a currency sign, a sign, more than two decimals and blanks.
    """
    if COMMON_AMOUNT.fullmatch(raw):  # one C-level check, then an exact conversion
        return Decimal(raw.replace(",", ""))
    text = raw.strip()
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError(_why_not_amount(text))
        text = text.replace(",", "")
    if _ANY_PLAIN.fullmatch(text):
        whole, _, cents = text.partition(".")
        return Decimal(f"{whole or '0'}.{cents:0<2}")  # always two places: 20000 -> 20000.00
    raise ValueError(_why_not_amount(raw.strip()))


def _why_not_amount(text: str) -> str:
    """The reason a cell is not an amount, in words a finance clerk can act on."""
    if not text:
        return "amount is empty"
    if text[0] in "-(" or text[-1] == "-":
        return "negative amount (exports write debits as positive numbers with DB)"
    if text[:2].lower() == "rp" or text[0] in "$€":
        return "amount has a currency sign (expected a plain number like 1500000.00)"
    if _DECIMAL_COMMA.fullmatch(text):
        return "amount uses a decimal comma or dot thousands (1.500.000,00); expected 1500000.00"
    whole, _, cents = text.partition(".")
    if whole.replace(",", "").isdigit() and cents.isdigit() and len(cents) > 2:
        return "amount has more than two decimals"
    return "not an amount (expected a number like 1500000.00 or 1,500,000.00)"


ZERO = Decimal("0.00")


def parse_optional_amount(raw: str) -> Decimal:
    """An amount where a blank cell means zero (Mandiri/BNI leave the unused side empty)."""
    return ZERO if not raw or raw.isspace() else parse_amount(raw)


def parse_account(raw: str) -> str:
    """An account number as digits only; Excel guards and spacing are dropped."""
    text = raw.strip().lstrip("'").replace(" ", "").replace("-", "").replace(".", "")
    if not (text.isdigit() and text.isascii()):
        raise ValueError("account number must be digits")
    return text


def normalise_description(raw: str) -> str:
    """A description with its apostrophe guard removed and runs of whitespace made one space."""
    text = " ".join(raw.split())
    return text[1:].lstrip() if text[:1] == "'" else text


def day_month_year(raw: str, *, year: int | None = None) -> date:
    """A ``DD/MM/YYYY``, ``DD/MM/YY`` or (with ``year``) ``DD/MM`` date."""
    parts = raw.split("/")
    if len(parts) == 3:
        day, month, year_text = parts
        if len(year_text) == 2 and year_text.isdigit():
            year_text = "20" + year_text
        if len(year_text) != 4 or not year_text.isdigit():
            raise ValueError("date must be DD/MM/YYYY")
        return _date(int(year_text), month, day)
    if len(parts) == 2 and year is not None:
        return _date(year, parts[1], parts[0])
    raise ValueError("date must be DD/MM/YYYY" if year is None
                     else "date must be DD/MM or DD/MM/YYYY")


def _date(year: int, month: str, day: str) -> date:
    if not (month.isdigit() and day.isdigit() and len(month) <= 2 and len(day) <= 2):
        raise ValueError("date must be made of digits like 25/09/2026")
    return date(year, int(month), int(day))  # raises "day is out of range for month"


def parse_clock(raw: str, separator: str = ":") -> time:
    """``HH:MM:SS`` or ``HH:MM`` (BNI writes dots: ``HH.MM.SS``)."""
    text = raw.strip()
    if len(text) in (5, 8) and text[2::3] == separator * (len(text) // 3):
        digits = text.replace(separator, "")
        if digits.isdigit() and digits.isascii():
            return time(int(text[:2]), int(text[3:5]), int(text[6:] or 0))
    raise ValueError(f"time must be HH{separator}MM{separator}SS")


def split_clock(raw: str) -> tuple[str, str]:
    """``03 August 2026 11:27:10`` -> (``03 August 2026``, ``11:27:10``); no time -> ``""``."""
    text = raw.strip()
    day, _, clock = text.rpartition(" ")
    return (day, clock) if day and (":" in clock or "." in clock) else (text, "")


def parse_month_name_date(raw: str, days: dict[str, date] | None = None
                          ) -> tuple[date, datetime | None]:
    """``03 August 2026 11:27:10`` or ``03 Agustus 2026`` -> (date, datetime or None).

    ``days`` caches the date part: a statement has a few dates and a time on every row.
    """
    day_text, clock = split_clock(raw)
    day = days.get(day_text) if days is not None else None
    if day is None:
        parts = day_text.split()
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
            raise ValueError("date must look like 03 August 2026 11:27:10")
        month = MONTHS.get(parts[1].lower().rstrip("."))
        if month is None:
            raise ValueError(f"unknown month name {parts[1]!r}")
        day = date(int(parts[2]), month, int(parts[0]))
        if days is not None:
            days[day_text] = day
    return day, (datetime.combine(day, parse_clock(clock)) if clock else None)


def parse_iso_day(raw: str) -> date:
    """The date of ``2026-07-10 23:44:44`` or ``2026-07-10`` (BRI CMS)."""
    text = raw.strip()
    if len(text) != 10 and text[10:11] not in (" ", "T"):
        raise ValueError("date must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError("date must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS") from None


def parse_unpadded_clock(raw: str) -> time:
    """BRI's ``JAM_TRAN``: ``HHMMSS`` with leading zeros dropped (``3153`` = 00:31:53)."""
    text = raw.strip()
    if not (text.isdigit() and text.isascii() and len(text) <= 6):
        raise ValueError("time must be up to six digits HHMMSS")
    text = text.zfill(6)
    return time(int(text[:2]), int(text[2:4]), int(text[4:]))


def one_side(credit: Decimal, debit: Decimal) -> tuple[Decimal, str]:
    """(amount, 'CR' or 'DB') from a credit and a debit cell of which exactly one is non-zero."""
    if credit and not debit:
        return credit, "CR"
    if debit and not credit:
        return debit, "DB"
    raise ValueError("exactly one of credit and debit must be non-zero"
                     if credit else "both credit and debit are zero")
