"""The activation batch workbook GraPARI receives, and reading it back once they filled it in.

`batch-aktivasi-YYYYMMDD-NN.xlsx`, sheet `Batch Aktivasi`: a header block (batch, time,
count), then one row per order with everything GraPARI needs to activate without re-checking.
A legend row says what to fill in; the four yellow columns GraPARI fills in (status with a
drop-down AKTIF/GAGAL that refuses anything else, MSISDN, activated at, note) are the only
editable cells; the sheet is protected (columns may still be widened). Totals of upfront and
eSIM fee sit in the header block, a hand-over block (diserahkan / diterima) under the orders;
it prints A4 landscape, one page wide. Text from outside is written as text. A batch file is
written once and never rewritten: it is created under its final name only if no file has that
name (`python -m bots esim reissue BATCH` writes a lost one again, the same).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bots.errors import InputFileError
from bots.esim.sheets import clean, landscape_fit_to_width, put, width_for

JAKARTA = ZoneInfo("Asia/Jakarta")
SHEET = "Batch Aktivasi"
HEADER_ROW = 6
EDITABLE = ("Status Aktivasi", "MSISDN", "Diaktifkan Pada", "Catatan GraPARI")
FILL_IN = PatternFill("solid", fgColor="FFF2CC")
MSISDN = re.compile(r"^(?:08|628)\d{8,11}$")


@dataclass(frozen=True)
class BatchColumn:
    header: str
    value: object  # a function of (order row, batch context) → cell value
    fmt: str | None = None
    width: int = 16


def _deadline(row, ctx):
    return ctx["validated_at"] + timedelta(hours=24)


COLUMNS = [
    BatchColumn("No. Pesanan", lambda r, c: r.order_id, width=14),
    BatchColumn("Diajukan", lambda r, c: _local(r.submitted_at), "DD/MM/YYYY HH:MM", 17),
    BatchColumn("Sales", lambda r, c: r.sales_agent, width=12),
    BatchColumn("Pelanggan", lambda r, c: r.customer_name, width=26),
    BatchColumn("NIK", lambda r, c: r.nik, "@", 19),
    BatchColumn("No. KK", lambda r, c: r.kk, "@", 19),
    BatchColumn("Telepon", lambda r, c: r.phone, "@", 15),
    BatchColumn("Perangkat", lambda r, c: r.device, width=22),
    BatchColumn("Paket", lambda r, c: r.package, width=12),
    BatchColumn("Masa Komitmen", lambda r, c: "1 bulan", width=14),
    BatchColumn("Remove MU 50K", lambda r, c: "Ya", width=14),
    BatchColumn("Bonus Paket", lambda r, c: c["bonus"].get(r.package, "-"), width=18),
    BatchColumn("Aktifkan VoLTE", lambda r, c: "Ya", width=14),
    BatchColumn("Aktifkan 5G", lambda r, c: "Ya", width=12),
    BatchColumn("Upfront", lambda r, c: r.upfront_amount, '"Rp" #,##0', 13),
    BatchColumn("Biaya eSIM", lambda r, c: r.esim_fee, '"Rp" #,##0', 12),
    BatchColumn("Kanal Bayar", lambda r, c: r.payment_channel or r.payment_method, width=14),
    BatchColumn("Batas Aktivasi", lambda r, c: _local(_deadline(r, c)), "DD/MM/YYYY HH:MM", 17),
] + [BatchColumn(h, lambda r, c: None, "DD/MM/YYYY HH:MM" if h == "Diaktifkan Pada" else "@", 18) for h in EDITABLE]


def _local(moment: datetime) -> datetime:
    return moment.astimezone(JAKARTA).replace(tzinfo=None, microsecond=0)


def file_name(batch_id: str) -> str:
    return f"batch-aktivasi-{batch_id}.xlsx"


LEGEND = ("Isi kolom kuning: Status Aktivasi (pilih AKTIF atau GAGAL), MSISDN (08… / 628…), "
          "Diaktifkan Pada (DD/MM/YYYY HH:MM), Catatan GraPARI. Kolom lain terkunci.")
HEADER_FILL = PatternFill("solid", fgColor="DDE4F0")
_NUMERIC = ('"Rp" #,##0', "DD/MM/YYYY HH:MM")
HANDOVER = ("Diserahkan oleh (Direct Sales)", "Diterima oleh (GraPARI Balaraja)")


def build(batch_id: str, issued_at: datetime, rows, bonus: dict[str, str], password: str | None = None) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    context = {"validated_at": issued_at, "bonus": bonus}
    upfront = sum(r.upfront_amount for r in rows)
    fees = sum(r.esim_fee for r in rows)
    sheet["A1"] = "Batch Aktivasi eSIM Halo — GraPARI Balaraja"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"], sheet["B2"] = "Batch", batch_id
    sheet["A3"], sheet["B3"] = "Dibuat", _local(issued_at)
    sheet["B3"].number_format = "DD/MM/YYYY HH:MM"
    sheet["A4"], sheet["B4"] = "Jumlah pesanan", len(rows)
    for row, (label, amount) in enumerate((("Total Upfront", upfront), ("Total Biaya eSIM", fees),
                                           ("Total Upfront + eSIM", upfront + fees)), start=2):
        sheet.cell(row=row, column=4, value=label).font = Font(bold=True)
        total = sheet.cell(row=row, column=5, value=amount)
        total.number_format = '"Rp" #,##0'
    legend = sheet.cell(row=HEADER_ROW - 1, column=1, value=LEGEND)
    legend.fill, legend.font = FILL_IN, Font(italic=True)
    for col, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=col, value=column.header)
        cell.font, cell.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="center")
        cell.fill = FILL_IN if column.header in EDITABLE else HEADER_FILL
        longest = max([len(str(column.value(r, context) or "")) + 2 for r in rows if column.fmt not in _NUMERIC]
                      or [0])
        sheet.column_dimensions[get_column_letter(col)].width = width_for(column.header, max(column.width,
                                                                                            min(longest, 40)))
    for number, row in enumerate(rows, start=HEADER_ROW + 1):
        for col, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=number, column=col)
            put(cell, column.value(row, context))
            if column.fmt:
                cell.number_format = column.fmt
            if column.header in EDITABLE:
                cell.protection = Protection(locked=False)
                cell.fill = FILL_IN
    last = HEADER_ROW + max(1, len(rows))
    status_col = get_column_letter(_col(EDITABLE[0]))
    choice = DataValidation(type="list", formula1='"AKTIF,GAGAL"', allow_blank=True, showErrorMessage=True,
                            errorStyle="stop", error="Status Aktivasi hanya boleh AKTIF atau GAGAL (pilih dari daftar).",
                            errorTitle="Status Aktivasi tidak valid", showInputMessage=True,
                            promptTitle="Status Aktivasi", prompt="Pilih AKTIF atau GAGAL")
    choice.add(f"{status_col}{HEADER_ROW + 1}:{status_col}{last}")
    sheet.add_data_validation(choice)
    msisdn_col = get_column_letter(_col("MSISDN"))
    number_check = DataValidation(type="textLength", operator="between", formula1="10", formula2="14",
                                  allow_blank=True, showErrorMessage=True, errorStyle="stop",
                                  errorTitle="MSISDN tidak valid", error="MSISDN 10–14 digit, diawali 08 atau 628.")
    number_check.add(f"{msisdn_col}{HEADER_ROW + 1}:{msisdn_col}{last}")
    sheet.add_data_validation(number_check)
    when_col = get_column_letter(_col("Diaktifkan Pada"))
    when_check = DataValidation(type="date", operator="greaterThan", formula1="44927", allow_blank=True,
                                showErrorMessage=True, errorStyle="stop", errorTitle="Waktu aktivasi tidak valid",
                                error="Isi tanggal dan jam aktivasi: DD/MM/YYYY HH:MM.")
    when_check.add(f"{when_col}{HEADER_ROW + 1}:{when_col}{last}")
    sheet.add_data_validation(when_check)
    _handover(sheet, last + 2)
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=2)
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.protection.sort = False
    sheet.protection.formatColumns = False  # GraPARI may widen a column
    sheet.protection.formatRows = False
    if password:
        sheet.protection.password = password
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last}"
    landscape_fit_to_width(sheet, f"{HEADER_ROW}:{HEADER_ROW}")
    sheet.print_area = f"A1:{get_column_letter(len(COLUMNS))}{last + 7}"
    return book


def _handover(sheet, first: int) -> None:
    """The hand-over block below the orders: who hands the batch over, who receives it."""
    for offset, title in enumerate(HANDOVER):
        col = 1 + offset * 5
        sheet.cell(row=first, column=col, value=title).font = Font(bold=True)
        for line, label in enumerate(("Nama", "Tanggal", "Tanda tangan"), start=1):
            sheet.cell(row=first + line, column=col, value=f"{label}:")
            blank = sheet.cell(row=first + line, column=col + 1)
            blank.border = Border(bottom=Side(style="thin"))
            blank.protection = Protection(locked=False)


def write_once(folder: Path, batch_id: str, book: Workbook) -> tuple[Path, bool]:
    """Create the batch file unless one already exists (never rewritten). Returns (path, created)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name(batch_id)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".xlsx", dir=folder)
    os.close(handle)
    try:
        book.save(temporary)
        try:
            os.link(temporary, target)  # fails if the name exists: create-only, atomically
            return target, True
        except FileExistsError:
            return target, False
    finally:
        os.unlink(temporary)


def issued_orders(path: Path) -> tuple[str, list[str]] | None:
    """(batch id, its order ids) as an issued batch file holds them; None if unreadable.

    How a lost or restored store learns which orders GraPARI already has: the files are the
    far end of the batch, so an order in one is never put in a second batch."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not a batch file we can read: it proves nothing
        return None
    try:
        if SHEET not in book.sheetnames:
            return None
        rows = list(book[SHEET].iter_rows(min_row=1, max_col=2, values_only=True))
    finally:
        book.close()
    if len(rows) < HEADER_ROW or rows[1][0] != "Batch" or rows[HEADER_ROW - 1][0] != COLUMNS[0].header:
        return None
    return str(rows[1][1]), order_ids(rows[HEADER_ROW:])


def order_ids(rows) -> list[str]:
    """The order column of the rows under the header, up to the first empty row (the hand-over
    block follows it)."""
    found = []
    for r in rows:
        if not r or r[0] in (None, ""):
            break
        found.append(str(r[0]))
    return found


# -- reading GraPARI's filled-in workbook ------------------------------------------------------------

def read_filled(path: Path, expected_rows, batch_id_of=None):
    """Check a filled batch workbook against what we issued; the results, or InputFileError.

    `expected_rows(batch_id)` gives the orders of that batch as issued (None: unknown batch).
    Every problem names its cell; nothing is returned from a file with any problem.
    """
    name = Path(path).name
    try:
        book = load_workbook(path, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a renamed or broken file
        raise InputFileError(name, f"not an Excel workbook ({type(exc).__name__})") from None
    if SHEET not in book.sheetnames:
        raise InputFileError(name, f"no sheet named {SHEET!r} (sheets: {', '.join(book.sheetnames)})")
    sheet = book[SHEET]
    batch_id = str(sheet["B2"].value or "").strip()
    issued = expected_rows(batch_id)
    if issued is None:
        raise InputFileError(name, "unknown batch", column="cell B2", value=batch_id)
    for col, column in enumerate(COLUMNS, start=1):
        if sheet.cell(row=HEADER_ROW, column=col).value != column.header:
            raise InputFileError(name, f"expected the header {column.header!r}",
                                 column=f"cell {get_column_letter(col)}{HEADER_ROW}")
    by_id = {r["No. Pesanan"]: r for r in issued}
    results, seen = [], set()
    for number in range(HEADER_ROW + 1, sheet.max_row + 1):
        values = {c.header: sheet.cell(row=number, column=i).value for i, c in enumerate(COLUMNS, start=1)}
        if all(v in (None, "") for v in values.values()):
            break  # the orders end at the first empty row; the hand-over block follows
        order_id = str(values["No. Pesanan"] or "").strip()
        where = lambda header: f"cell {get_column_letter(_col(header))}{number}"  # noqa: E731
        if order_id not in by_id:
            raise InputFileError(name, "unknown order (not in this batch)", column=where("No. Pesanan"),
                                 value=order_id)
        if order_id in seen:
            raise InputFileError(name, "order listed twice", column=where("No. Pesanan"), value=order_id)
        seen.add(order_id)
        for header, issued_value in by_id[order_id].items():
            if header in EDITABLE or _same(values[header], issued_value):
                continue
            shown = None if header in ("NIK", "No. KK") else values[header]  # never echo personal data
            raise InputFileError(name, f"locked cell changed ({header})", column=where(header), value=shown)
        results.append(_result(order_id, values, where, name))
    return batch_id, results


def _col(header: str) -> int:
    return next(i for i, c in enumerate(COLUMNS, start=1) if c.header == header)


def _same(found, issued) -> bool:
    if isinstance(issued, datetime) and isinstance(found, datetime):
        return abs(found - issued) < timedelta(minutes=1)
    return found == issued or str(found or "").strip() == str(issued if issued is not None else "").strip()


def _result(order_id: str, values: dict, where, name: str) -> dict | None:
    status = str(values["Status Aktivasi"] or "").strip().upper()
    if not status:
        return {"order_id": order_id, "status": None, "msisdn": None, "activated_at": None, "note": None}
    if status not in ("AKTIF", "GAGAL"):
        raise InputFileError(name, "status must be AKTIF or GAGAL", column=where("Status Aktivasi"), value=status)
    msisdn = re.sub(r"[\s\-+]", "", str(values["MSISDN"] or ""))
    activated = values["Diaktifkan Pada"]
    if status == "AKTIF":
        if not MSISDN.match(msisdn):
            raise InputFileError(name, "MSISDN must be a Telkomsel number like 0812xxxxxxxx or 62812xxxxxxxx",
                                 column=where("MSISDN"), value=values["MSISDN"])
        activated = _moment(activated)
        if activated is None:
            raise InputFileError(name, "activation time must be a date (DD/MM/YYYY HH:MM)",
                                 column=where("Diaktifkan Pada"), value=values["Diaktifkan Pada"])
    else:
        activated = None
    return {"order_id": order_id, "status": status, "msisdn": msisdn or None, "activated_at": activated,
            "note": str(values["Catatan GraPARI"] or "").strip() or None}


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=JAKARTA)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=JAKARTA)
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(str(value or "").strip(), fmt).replace(tzinfo=JAKARTA)
        except ValueError:
            continue
    return None


def issued_values(rows, issued_at: datetime, bonus: dict[str, str]) -> list[dict]:
    """The locked cells' values as they were written, per order (to compare on import)."""
    context = {"validated_at": issued_at, "bonus": bonus}
    return [{c.header: _as_written(c.value(r, context)) for c in COLUMNS} for r in rows]


def _as_written(value):
    return clean(value) if isinstance(value, str) else value
