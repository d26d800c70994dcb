"""Small workbook helpers for the batch workbook (openpyxl's normal mode), kept out of
bots/workbook.py: text from outside written as text, print set-up, widths that fit headers."""

from __future__ import annotations

from bots.text import visible


def clean(text: str) -> str:
    """Text a customer typed, safe for a cell: control characters shown as visible escapes
    (`\\x07`), never written raw (Excel cannot hold them; openpyxl refuses them)."""
    return visible(text)


def put(cell, value) -> None:
    """A value into a cell; a string always as text (a leading `=` stays text, not a formula)."""
    if isinstance(value, str):
        cell.value = None
        cell._value, cell.data_type = clean(value), "s"
    else:
        cell.value = value


def width_for(header: str, wanted: int) -> int:
    """A column at least as wide as its header (bold: a little more), and as wide as asked."""
    return max(wanted, min(60, len(header) + 4))


def landscape_fit_to_width(sheet, print_rows: str | None = None) -> None:
    """Print set-up: A4 landscape, every column on one page wide, as many pages tall as needed."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = False
    if print_rows:
        sheet.print_title_rows = print_rows
