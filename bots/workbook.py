"""Workbooks finance can trust: typed cells, frozen and filtered headers, written atomically.

Amounts are numbers formatted `"Rp" #,##0`, dates are dates, every header row is frozen and
filtered, columns are wide enough to read. A workbook is written to a temporary file beside
its target and renamed into place, so a reader never sees half a file. When the target is
held open by another program (Excel on a shared drive refuses the rename), it is written
beside it instead and the caller is told.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

JAKARTA = ZoneInfo("Asia/Jakarta")
FORMATS = {"rupiah": '"Rp" #,##0', "date": "DD/MM/YYYY", "datetime": "DD/MM/YYYY HH:MM", "int": "0",
           "text": "@", "number": "0.0"}
HEADER_FILL = PatternFill("solid", fgColor="DDE4F0")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | rupiah | date | datetime | int | number
    width: int | None = None


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: Iterable[Iterable[Any]]
    title: list[str] = field(default_factory=list)  # lines above the header (a header block)


def cell_value(value, kind: str):
    """A Python value as Excel should hold it: naive local datetimes, numbers as numbers."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(JAKARTA).replace(tzinfo=None) if value.tzinfo else value
    if kind == "date" and isinstance(value, datetime):
        return (value.astimezone(JAKARTA) if value.tzinfo else value).date()
    if kind in ("rupiah", "int", "number") and isinstance(value, (Decimal, str)):
        number = Decimal(value)
        return int(number) if number == number.to_integral() else float(number)
    return value


def build(sheets: list[Sheet]) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.name)
        for line in spec.title:
            sheet.append([line])
        if spec.title:
            sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
            sheet.append([])
        header_row = sheet.max_row + 1 if spec.title else 1
        widths = [max(len(c.header) + 2, c.width or 0) for c in spec.columns]
        for col, column in enumerate(spec.columns, start=1):
            cell = sheet.cell(row=header_row, column=col, value=column.header)
            cell.font, cell.fill = Font(bold=True), HEADER_FILL
            cell.alignment = Alignment(vertical="center")
        row_number = header_row
        for row in spec.rows:
            row_number += 1
            for col, (column, value) in enumerate(zip(spec.columns, row), start=1):
                cell = sheet.cell(row=row_number, column=col, value=cell_value(value, column.kind))
                if column.kind != "text":
                    cell.number_format = FORMATS[column.kind]
                if column.width is None:
                    widths[col - 1] = min(60, max(widths[col - 1], _shown_width(value, column.kind)))
        for col, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = width
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
        last = get_column_letter(max(1, len(spec.columns)))
        sheet.auto_filter.ref = f"A{header_row}:{last}{max(row_number, header_row)}"
    return book


def _shown_width(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "rupiah":
        return len(f"{int(Decimal(value)):,}") + 5
    if kind in ("date", "datetime"):
        return 17 if kind == "datetime" else 12
    return len(str(value)) + 2


def write(path: Path, sheets: list[Sheet]) -> tuple[Path, str | None]:
    """Write atomically; returns (where it went, a note if it had to go beside the target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = build(sheets)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        book.save(temporary)
        try:
            os.replace(temporary, path)
            return path, None
        except PermissionError:
            beside = _free_name(path)
            os.replace(temporary, beside)
            return beside, f"{path.name} is open in another program; written as {beside.name}"
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _free_name(path: Path) -> Path:
    for number in range(1, 100):
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
        if not candidate.exists():
            return candidate
    raise PermissionError(f"no free name beside {path}")
