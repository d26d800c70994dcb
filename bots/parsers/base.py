"""What every format parser shares: decoding, finding the header, the preamble, rows with lines.

A parser declares its columns as data (a field name -> header name table, or the exact header
rows it knows); ``Columns`` maps them onto the header actually found, so an error can name the
column as ``4 (Jumlah)`` in the file's own words.
"""

from __future__ import annotations

import _csv  # the reader type, for annotations
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bots.errors import InputFileError

from .model import Statement
from .values import parse_account

ACCOUNT_KEYS = ("no. rekening", "no rekening", "nomor rekening", "rekening", "account no",
                "account number", "no. account")
HEAD_LINES = 20  # a header sits below at most a short preamble; identify() looks no further


class StatementFormat(Protocol):
    """One export format: ``identify`` sniffs the header only, ``parse`` reads the whole file."""

    name: str
    bank: str

    def identify(self, text: str) -> bool: ...

    def parse(self, text: str, source: str, *, today: date | None = None,
              account_no: str | None = None) -> Statement: ...


def decode(data: bytes, source: str) -> str:
    """Bytes of an export as text with ``\\n`` line ends, or an ``InputFileError`` saying why not.

    Tries UTF-8 (with or without BOM), then Windows-1252, then ISO-8859-1 (which never fails),
    as KlikBCA files come in all three; a UTF-16 BOM (Excel's "Unicode text") is honoured.
    """
    if data.startswith(b"PK\x03\x04"):
        raise InputFileError(source, "this is a zip archive (or .xlsx), not a CSV export; "
                             "unzip it or download the CSV", line=1)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputFileError(source, "this is an Excel .xls workbook, not a CSV export", line=1)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        nul = data.find(b"\x00")
        if nul >= 0:
            raise InputFileError(source, "binary data, not a text export "
                                 f"(NUL byte at offset {nul})", line=data.count(b"\n", 0, nul) + 1)
        for encoding in ("utf-8-sig", "cp1252", "iso-8859-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    if "\r" in text:  # each replace copies the whole file: skip the ones not needed
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = text.replace("\r", "\n")
    if not text or text.isspace():  # isspace() stops at the first visible character
        raise InputFileError(source, "the file is empty")
    return text


def head(text: str, count: int = HEAD_LINES) -> list[str]:
    """The first ``count`` lines, without reading (or copying) the rest of a large file."""
    return text[: _offset_of_line(text, count)].split("\n")[:count]


def _offset_of_line(text: str, index: int) -> int:
    """Character offset where 0-based line ``index`` starts (``len(text)`` past the end)."""
    offset = 0
    for _ in range(index):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def header_cells(line: str, delimiter: str) -> tuple[str, ...]:
    """A header line as lower-case cells without quotes, padding, BOM or apostrophe guards."""
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return tuple(c.strip().lstrip("\ufeff'").strip().lower() for c in cells)


def find_header(text: str, delimiter: str, accept) -> tuple[int, tuple[str, ...]] | None:
    """(0-based line index, raw header cells) of the first head line ``accept(cells)`` likes."""
    for index, line in enumerate(head(text)):
        if line.strip() and accept(header_cells(line, delimiter)):
            raw = next(csv.reader([line], delimiter=delimiter))
            return index, tuple(c.strip().lstrip("\ufeff") for c in raw)
    return None


def preamble(text: str, header_index: int) -> dict[str, tuple[int, str]]:
    """``key : value`` (or ``key,=,value``) lines above the header: key -> (line, value)."""
    found = {}
    for number, line in enumerate(head(text, header_index), start=1):
        if ",=," in line:
            key, _, value = line.partition(",=,")
        elif ":" in line:
            key, _, value = line.partition(":")
        else:
            continue
        key = key.strip().strip('"').lower().rstrip(" .")
        found[key] = (number, value.strip().strip('"').strip().lstrip("'"))
    return found


def preamble_account(source: str, info: dict) -> tuple[int | None, str | None]:
    """(line, digits) of the account number a preamble states, or (None, None)."""
    for key in ACCOUNT_KEYS:
        if key in info:
            number, raw = info[key]
            try:
                return number, parse_account(raw)
            except ValueError as exc:
                raise InputFileError(source, str(exc), line=number, value=raw) from None
    return None, None


def reader(text: str, header_index: int, delimiter: str) -> tuple[_csv.Reader, int]:
    """A CSV reader over the lines below the header, and the physical line its first row is on."""
    start = _offset_of_line(text, header_index + 1)
    return csv.reader(io.StringIO(text[start:]), delimiter=delimiter), header_index + 2


def numbered(rows: _csv.Reader, first: int, start: int,
             source: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line, cells) for the rest of ``rows``, whose next row starts on line ``start``.

    ``first`` is the line ``rows`` began on; counting through ``line_num`` keeps the numbers
    physical when a quoted cell spans lines. Blank rows are skipped.
    """
    with csv_errors(source, rows, first):
        for row in rows:
            line, start = start, first + rows.line_num
            if row and (row[0] or any(row)):
                yield line, row


def rows(text: str, header_index: int, delimiter: str,
         source: str) -> Iterator[tuple[int, list[str]]]:
    """The CSV rows below the header as (1-based physical line, cells); blank rows skipped."""
    cells, first = reader(text, header_index, delimiter)
    return numbered(cells, first, first, source)


@contextmanager
def csv_errors(source: str, rows: _csv.Reader, first: int):
    """Turn the csv module's own errors (a quote left open swallowing the file) into ours."""
    try:
        yield
    except csv.Error as exc:
        raise InputFileError(source, f"unreadable CSV: {exc}", line=first + rows.line_num) from None


@dataclass(frozen=True)
class Columns:
    """Where each field sits in the header found, and how an error should name its column."""

    header: tuple[str, ...]  # header cells as written in the file
    index: dict[str, int]  # field -> 0-based position
    blank_names: dict[str, str]  # field -> name to show when its header cell is empty

    @classmethod
    def by_name(cls, header: tuple[str, ...], wanted: dict[str, str]) -> Columns | None:
        """Locate ``wanted`` (field -> header name, any case) in ``header``; None if one lacks."""
        lowered = [h.strip().lower() for h in header]
        index = {}
        for field, name in wanted.items():
            if name.lower() not in lowered:
                return None
            index[field] = lowered.index(name.lower())
        return cls(header, index, {})

    def label(self, field: str) -> str:
        """``4 (Jumlah)``: the 1-based column number and its header name."""
        position = self.index[field]
        name = self.header[position] if position < len(self.header) else ""
        return f"{position + 1} ({name or self.blank_names.get(field, field)})"


def cell_error(source: str, line: int, columns: Columns, field: str, reason: str,
               row: list[str]) -> InputFileError:
    """An ``InputFileError`` for one cell: file, line, ``column 4 (Jumlah)``, reason, value."""
    position = columns.index[field]
    value = row[position] if position < len(row) else None
    if value is None:
        reason = f"row ends early, {reason}" if reason else "row ends early"
    return InputFileError(source, reason, line=line, column=columns.label(field), value=value)


def check_width(source: str, line: int, row: list[str], columns: Columns, last_field: str) -> None:
    """Reject a row cut short (before ``last_field``) or with values beyond the header."""
    width = len(columns.header)
    if len(row) <= columns.index[last_field]:
        missing = next(f for f, i in sorted(columns.index.items(), key=lambda kv: kv[1])
                       if i >= len(row))
        raise cell_error(source, line, columns, missing, "", row)
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        raise InputFileError(source, f"row has {len(row)} cells but the header has {width} "
                             "(an unquoted comma in a description?)", line=line,
                             column=width + 1, value=row[width])


def resolve_account(source: str, found: str | None, given: str | None,
                    line: int | None = None) -> str:
    """The statement's account: from the file, else the caller's; a disagreement is an error."""
    if given is not None:
        given = given.strip().replace(" ", "").replace("-", "")
    if found and given and found != given:
        raise InputFileError(source, f"the file is for account {found}, not {given}", line=line,
                             value=found)
    account = found or given
    if not account:
        raise InputFileError(source, "no account number in the file; pass account_no "
                             "(the export has no rows or no preamble naming the account)")
    if not account.isdigit():
        raise InputFileError(source, "account number must be digits", value=account)
    return account
