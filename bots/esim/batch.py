"""The activation batch workbook GraPARI receives, and reading it back once they filled it in.

`batch-aktivasi-YYYYMMDD-NN.xlsx`, sheet `Batch Aktivasi`: a header block (batch, time,
count), then one row per order with everything GraPARI needs to activate without re-checking.
Only the four columns GraPARI fills in (status with a drop-down AKTIF/GAGAL, MSISDN, activated
at, note) are editable; the sheet is protected. A batch file is written once and never
rewritten: it is created under its final name only if no file has that name.
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
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bots.errors import InputFileError

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


def build(batch_id: str, issued_at: datetime, rows, bonus: dict[str, str], password: str | None = None) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    context = {"validated_at": issued_at, "bonus": bonus}
    sheet["A1"] = "Batch Aktivasi eSIM Halo — GraPARI Balaraja"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"], sheet["B2"] = "Batch", batch_id
    sheet["A3"], sheet["B3"] = "Dibuat", _local(issued_at)
    sheet["B3"].number_format = "DD/MM/YYYY HH:MM"
    sheet["A4"], sheet["B4"] = "Jumlah pesanan", len(rows)
    for col, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=col, value=column.header)
        cell.font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(col)].width = column.width
    for number, row in enumerate(rows, start=HEADER_ROW + 1):
        for col, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=number, column=col, value=column.value(row, context))
            if column.fmt:
                cell.number_format = column.fmt
            if column.header in EDITABLE:
                cell.protection = Protection(locked=False)
                cell.fill = FILL_IN
    last = HEADER_ROW + max(1, len(rows))
    status_col = get_column_letter(COLUMNS.index(next(c for c in COLUMNS if c.header == EDITABLE[0])) + 1)
    choice = DataValidation(type="list", formula1='"AKTIF,GAGAL"', allow_blank=True,
                            error="Pilih AKTIF atau GAGAL", errorTitle="Status Aktivasi")
    choice.add(f"{status_col}{HEADER_ROW + 1}:{status_col}{last}")
    sheet.add_data_validation(choice)
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=2)
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.protection.sort = False
    if password:
        sheet.protection.password = password
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last}"
    return book


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
    return str(rows[1][1]), [str(r[0]) for r in rows[HEADER_ROW:] if r and r[0]]


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
            continue
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
    return [{c.header: c.value(r, context) for c in COLUMNS} for r in rows]
