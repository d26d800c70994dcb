"""Workbooks finance can trust: typed cells, frozen and filtered headers, written atomically.

Amounts are numbers formatted `"Rp" #,##0`, dates are dates, every header row is frozen and
filtered, columns are wide enough to read. A workbook is written to a temporary file beside
its target and renamed into place, so a reader never sees half a file. When the target is
held open by another program (Excel on a shared drive refuses the rename), it is written
beside it instead and the caller is told.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from bots.text import visible


JAKARTA = ZoneInfo("Asia/Jakarta")
FORMATS = {"rupiah": '"Rp" #,##0', "date": "DD/MM/YYYY", "datetime": "DD/MM/YYYY HH:MM", "int": "0",
           "text": "@", "number": "0.0"}
HEADER_FILL = "DDE4F0"  # the header row's background


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | rupiah | date | datetime | int | number
    width: int | None = None


class Rows:
    """A sheet's rows made afresh on each pass (widths, then cells) instead of kept in memory:
    `Rows(lambda: ([line.a, line.b] for line in lines))`."""

    def __init__(self, make):
        self.make = make

    def __iter__(self):
        return iter(self.make())


@dataclass(frozen=True)
class BarChart:
    """A clustered bar chart of a sheet's rows: categories from one column, a series per
    other column; drawn on `on` (another sheet of the workbook, or this one) at `anchor`."""

    title: str
    categories: int                  # 1-based column of the category labels
    series: tuple[int, ...]          # 1-based columns of the values
    on: str | None = None
    anchor: str = "F2"
    y_title: str = "Rp"


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: Iterable[Iterable[Any]]
    title: list[str] = field(default_factory=list)  # lines above the header (a header block)
    table: bool = False              # an Excel table with a totals row (sums of the rupiah columns)
    chart: BarChart | None = None


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


def build(sheets: list[Sheet]):
    """The workbook, in openpyxl's write-only mode: rows stream to the file instead of living
    as cell objects (a 100,000-line day took minutes and most of a gigabyte in normal mode)."""
    from openpyxl import Workbook  # here, not at the top: a bot's start need not pay for openpyxl

    book = Workbook(write_only=True)
    made = {}
    for spec in sheets:
        made[spec.name] = _write_sheet(book, spec)
    for spec in sheets:
        if spec.chart is not None:
            _add_chart(book, made, spec)
    return book


def _print_setup(sheet, header_row: int) -> None:
    """Landscape, fit to the page's width, the header rows repeated on every page, page numbers."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"1:{header_row}"
    sheet.oddFooter.center.text = "Halaman &P dari &N"
    sheet.oddFooter.left.text = "&A"
    sheet.oddHeader.right.text = "&F"


def _add_chart(book, made: dict, spec: Sheet) -> None:
    from openpyxl.chart import BarChart as XlBarChart
    from openpyxl.chart import Reference

    sheet, header_row, count = made[spec.name]
    chart_spec = spec.chart
    if count == 0 or chart_spec is None:
        return
    chart = XlBarChart()
    chart.type, chart.grouping, chart.title = "col", "clustered", chart_spec.title
    chart.y_axis.title = chart_spec.y_title
    chart.height, chart.width = 8, 18
    for column in chart_spec.series:
        chart.add_data(Reference(sheet, min_col=column, min_row=header_row, max_row=header_row + count),
                       titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=chart_spec.categories, min_row=header_row + 1,
                                   max_row=header_row + count))
    target = made[chart_spec.on][0] if chart_spec.on in made else sheet
    target.add_chart(chart, chart_spec.anchor)


def _write_sheet(book, spec: Sheet) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(spec.name)
    rows = spec.rows
    if iter(rows) is rows:  # a one-shot iterator: kept, since the widths need a pass of their own
        rows = list(rows)
    header_row = len(spec.title) + 1  # the header right under the title lines, as before
    # Write-only: widths and the frozen pane go before the first row, so widths come first.
    for col, width in enumerate(_widths(spec.columns, rows), start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.freeze_panes = f"A{header_row + 1}"
    head: list[list] = []
    for number, line in enumerate(spec.title):
        cell = text_cell(sheet, line)
        if number == 0:
            cell.font = Font(bold=True, size=13)
        head.append([cell])
    header = []
    for column in spec.columns:
        cell = text_cell(sheet, column.header)
        cell.font, cell.alignment = Font(bold=True), Alignment(vertical="center")
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        header.append(cell)
    head.append(header)
    _print_setup(sheet, header_row)
    totals = _totals_row(spec) if spec.table else None
    count = _stream(sheet, head, rows, [c.kind for c in spec.columns], totals)
    last = get_column_letter(max(1, len(spec.columns)))
    if spec.table and count:
        _add_table(sheet, spec, header_row, count)
    else:  # a table filters itself; a sheet filter beside it would make Excel repair the file
        sheet.auto_filter.ref = f"A{header_row}:{last}{header_row + count}"
    return sheet, header_row, count


def _totals_row(spec: Sheet):
    """A function of the data's last row: the totals row's cells (SUBTOTAL of each rupiah column)."""
    from openpyxl.utils import get_column_letter

    header_row = len(spec.title) + 1

    def row(last_row: int) -> list:
        cells: list = []
        for number, column in enumerate(spec.columns, start=1):
            letter = get_column_letter(number)
            if column.kind == "rupiah":
                cells.append(f"=SUBTOTAL(109,{letter}{header_row + 1}:{letter}{last_row})")
            else:
                cells.append("Total" if number == 1 else None)
        return cells
    return row


def _add_table(sheet, spec: Sheet, header_row: int, count: int) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

    last = get_column_letter(len(spec.columns))
    name = "T_" + re.sub(r"[^A-Za-z0-9_]", "_", spec.name)
    table = Table(displayName=name, name=name, ref=f"A{header_row}:{last}{header_row + count + 1}",
                  totalsRowCount=1)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    seen: set[str] = set()
    for number, column in enumerate(spec.columns, start=1):
        header = column.header
        while header in seen:
            header += " "
        seen.add(header)
        table_column = TableColumn(id=number, name=header)
        if column.kind == "rupiah":
            table_column.totalsRowFunction = "sum"
        elif number == 1:
            table_column.totalsRowLabel = "Total"
        table.tableColumns.append(table_column)
    table.autoFilter = None
    from openpyxl.worksheet.filters import AutoFilter
    table.autoFilter = AutoFilter(ref=f"A{header_row}:{last}{header_row + count}")
    import warnings

    with warnings.catch_warnings():  # "add table columns manually": they are, above
        warnings.simplefilter("ignore", UserWarning)
        sheet.add_table(table)


def _stream(sheet, head: list[list], rows, kinds: list[str], totals=None) -> int:
    """The sheet's rows into its write-only stream.

    openpyxl builds a cell object and an XML element for every cell, which is most of the
    time a large workbook takes. Rows of plain values (text, numbers, dates in their columns)
    are written here as the same `<row>` XML openpyxl would write, straight into its stream;
    anything else goes through openpyxl as usual. openpyxl still writes everything around
    the rows (styles, widths, panes, filters). Without et_xmlfile's writer (lxml installed),
    every row goes through openpyxl.
    """
    from openpyxl.cell.cell import Cell

    styles = [None if kind == "text" else _number_style(sheet, FORMATS[kind]) for kind in kinds]
    sheet._get_writer()
    writer = sheet._writer
    xf = writer.xf.send(True)
    raw = getattr(xf, "_file", None)
    fast = _RowXml(kinds, [None if s is None else sheet.parent._cell_styles.add(s) for s in styles],
                   sheet.parent.epoch) if callable(raw) else None
    number = len(head)
    with xf.element("sheetData"):
        for number, row in enumerate(head, start=1):
            writer.write_row(xf, sheet._values_to_row(row, number), number)
        for number, row in enumerate(rows, start=len(head) + 1):
            text = fast.row(number, row) if fast else None
            if text is None:
                cells = [_cell(sheet, value, kind, style) for value, kind, style in zip(row, kinds, styles)]
                writer.write_row(xf, sheet._values_to_row(cells, number), number)
            else:
                raw(text)
        count = number - len(head)
        if totals is not None and count:
            cells = [None if value is None else
                     Cell(sheet, 1, 1, value, styles[n]) if styles[n] is not None else Cell(sheet, 1, 1, value)
                     for n, value in enumerate(totals(number))]
            for cell in cells:
                if cell is not None:
                    cell.font = _bold()
            writer.write_row(xf, sheet._values_to_row(cells, number + 1), number + 1)
    writer.xf.send(None)
    sheet._rows = _finished()  # what close() expects once the rows are written
    return number - len(head)


def _cell(sheet, value, kind: str, style):
    """One cell of a row openpyxl writes: text stays text, numbers and dates typed."""
    from openpyxl.cell.cell import Cell

    if value is None:
        return None
    if isinstance(value, str) and (kind == "text" or not _numeric(value)):
        return text_cell(sheet, value, style)
    if style is None:
        return value
    return Cell(sheet, 1, 1, cell_value(value, kind), style)


def _numeric(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def _bold():
    from openpyxl.styles import Font

    return Font(bold=True)


def _finished():
    yield


#: the first characters a spreadsheet reads as a formula (or DDE) when a cell is typed in
FORMULA_STARTS = ("=", "+", "-", "@")


def text_cell(sheet, value: str, style=None):
    """A cell holding `value` as text, whatever it starts with (`=HYPERLINK(…)` stays text)."""
    from openpyxl.cell.cell import Cell

    cell = Cell(sheet, 1, 1, None, style) if style is not None else Cell(sheet, 1, 1)
    cell._value, cell.data_type = visible(value), "s"
    return cell


class _RowXml:
    """One row as openpyxl's XML (inline strings, numbers, date serials), or None when a
    value is not a plain one (openpyxl then writes that row, with its own checks)."""

    def __init__(self, kinds: list[str], style_ids: list[int | None], epoch):
        from openpyxl.utils import get_column_letter
        from openpyxl.utils.datetime import to_excel

        self.serial = to_excel
        self.columns = [(get_column_letter(n), kind, "" if sid is None else f' s="{sid}"')
                        for n, (kind, sid) in enumerate(zip(kinds, style_ids), start=1)]
        self.epoch = epoch
        self.dates: dict = {}

    def row(self, number: int, values) -> str | None:
        parts = [f'<row r="{number}">']
        add = parts.append
        for (letter, kind, style), value in zip(self.columns, values):
            if value is None:
                continue
            if kind == "text":
                kind_of = type(value)
                if kind_of is str:
                    if not value:
                        continue
                    if len(value) > 32767:
                        return None  # too long: openpyxl decides
                    # an inline string is text in every spreadsheet: `=…` stays text here
                    value = visible(value)
                    if "&" in value or "<" in value or ">" in value:
                        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
                    add(f'<c r="{letter}{number}" t="inlineStr"><is><t{space}>{value}</t></is></c>')
                elif kind_of is int or kind_of is float:
                    add(f'<c r="{letter}{number}" t="n"><v>{"%.16g" % value}</v></c>')
                else:
                    return None
                continue
            if kind == "date":  # a day's lines share a handful of dates: each converted once
                cell = self.dates.get((style, value))
                if cell is None:
                    shown = cell_value(value, kind)
                    if type(shown) is not date:
                        return None
                    cell = self.dates[style, value] = f'{style} t="n"><v>{"%.16g" % self.serial(shown, self.epoch)}</v></c>'
                add(f'<c r="{letter}{number}"{cell}')
                continue
            value = cell_value(value, kind)
            kind_of = type(value)
            if kind_of is int or kind_of is float:
                if value != value or value in (float("inf"), float("-inf")):
                    return None
                add(f'<c r="{letter}{number}"{style} t="n"><v>{"%.16g" % value}</v></c>')
            elif (kind_of is datetime or kind_of is date) and getattr(value, "tzinfo", None) is None:
                add(f'<c r="{letter}{number}"{style} t="n"><v>{"%.16g" % self.serial(value, self.epoch)}</v></c>')
            else:
                return None
        add("</row>")
        return "".join(parts)


def _number_style(sheet, number_format: str):
    """The style of a cell showing numbers or dates in `number_format`, made once per column."""
    from openpyxl.cell.cell import Cell

    cell = Cell(sheet, 1, 1)
    cell.number_format = number_format
    return cell._style


def _widths(columns: list[Column], rows) -> list[int]:
    """Each column wide enough for its header and (up to 60) its widest value, in one pass."""
    widest: dict[int, object] = {}
    measured = [(col, column.kind) for col, column in enumerate(columns) if column.width is None]
    for row in rows:
        for col, kind in measured:
            value = row[col]
            if value is None:
                continue
            if kind == "rupiah":  # the widest amount is the largest one
                size = abs(value) if isinstance(value, (int, Decimal)) else abs(Decimal(value))
                if col not in widest or size > widest[col]:
                    widest[col] = size
            elif kind in ("date", "datetime"):
                widest[col] = value
            else:
                size = len(str(value))
                if size > widest.get(col, -1):
                    widest[col] = size
    widths = []
    for col, column in enumerate(columns):
        width = max(len(column.header) + 2, column.width or 0)
        if column.width is None and col in widest:
            found = widest[col]
            shown = _shown_width(found, column.kind) if column.kind in ("rupiah", "date", "datetime") else found + 2
            width = min(60, max(width, shown))
        widths.append(width)
    return widths


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
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600: readable as the umask says
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _free_name(path: Path) -> Path:
    for number in range(1, 100):
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
        if not candidate.exists():
            return candidate
    raise PermissionError(f"no free name beside {path}")
