"""Print set-up for a workbook written by bots/workbook.py (whose write-only sheets have none):
A4 landscape, one page wide, the header row repeated on every page. Written in place, atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def print_setup(path: Path, header_rows: dict[str, int] | None = None) -> None:
    """Give every sheet of the workbook at `path` a print set-up finance can print as is."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    for sheet in book.worksheets:
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        row = (header_rows or {}).get(sheet.title) or _header_row(sheet)
        sheet.print_title_rows = f"{row}:{row}"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        book.save(temporary)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)  # the file is held open elsewhere: kept without print set-up


def _header_row(sheet) -> int:
    """The frozen pane's row is the one under the header."""
    pane = sheet.freeze_panes or "A2"
    digits = "".join(ch for ch in pane if ch.isdigit())
    return max(1, int(digits or 2) - 1)
