"""The activation batch workbook as GraPARI reads it: no browser, no world."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bots.errors import InputFileError
from bots.esim import batch

JKT = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=JKT)


def row(n: int, **changes):
    base = dict(order_id=f"PSB-{n:03d}", submitted_at=T0, sales_agent="DS-BLR-01", customer_name=f"Pelanggan {n}",
                nik=f"36031215059000{n:02d}", kk=f"36031201011500{n:02d}", phone="081311110001", device="iPhone 15",
                package="Halo 150K", upfront_amount=150000, esim_fee=25000, payment_channel="QRIS",
                payment_method="QRIS")
    return SimpleNamespace(**{**base, **changes})


@pytest.fixture
def written(tmp_path):
    rows = [row(1, customer_name="=HYPERLINK(\"http://x\",\"klik\")"), row(2, customer_name="Budi\x07 Santoso\x1b"),
            row(3, device="Galaxy S24 Ultra")]
    book = batch.build("20261123-01", T0, rows, {"Halo 150K": "Bonus kuota 5GB"})
    path, created = batch.write_once(tmp_path, "20261123-01", book)
    assert created
    return path, rows


def test_text_from_outside_is_text_and_a_control_character_never_stops_the_file(written):
    path, _ = written
    sheet = load_workbook(path)["Batch Aktivasi"]
    header = [c.value for c in sheet[batch.HEADER_ROW]]
    names = [sheet.cell(row=r, column=header.index("Pelanggan") + 1) for r in (7, 8)]
    assert names[0].value.startswith("=HYPERLINK") and names[0].data_type == "s"  # text, not a formula
    assert names[1].value == "Budi\\x07 Santoso\\x1b"


def test_the_sheet_as_grapari_reads_and_prints_it(written):
    path, rows = written
    sheet = load_workbook(path)["Batch Aktivasi"]
    assert "Isi kolom kuning" in sheet.cell(row=batch.HEADER_ROW - 1, column=1).value
    header = [c.value for c in sheet[batch.HEADER_ROW]]
    for col, title in enumerate(header, start=1):
        cell = sheet.cell(row=batch.HEADER_ROW, column=col)
        assert cell.fill.fgColor.rgb.endswith(("DDE4F0", "FFF2CC")) and cell.font.b
        assert sheet.column_dimensions[get_column_letter(col)].width >= len(title)  # headers not clipped
    assert sheet["D2"].value == "Total Upfront" and sheet["E2"].value == 3 * 150000
    assert sheet["E4"].value == 3 * 175000
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.protection.sheet and not sheet.protection.formatColumns  # columns may be widened
    status = [v for v in sheet.data_validations.dataValidation if v.formula1 == '"AKTIF,GAGAL"']
    assert status and status[0].showErrorMessage and status[0].errorStyle in (None, "stop")
    labels = [sheet.cell(row=r, column=c).value for r in range(7, sheet.max_row + 1) for c in (1, 6)]
    assert "Diserahkan oleh (Direct Sales)" in labels and "Diterima oleh (GraPARI Balaraja)" in labels
    assert batch.issued_orders(path) == ("20261123-01", [r.order_id for r in rows])  # the hand-over is no order


def test_a_filled_in_file_with_its_hand_over_block_signed_reads_back(written, tmp_path):
    path, rows = written
    book = load_workbook(path)
    sheet = book["Batch Aktivasi"]
    header = [c.value for c in sheet[batch.HEADER_ROW]]
    sheet.cell(row=7, column=header.index("Status Aktivasi") + 1).value = "AKTIF"
    sheet.cell(row=7, column=header.index("MSISDN") + 1).value = "081234567001"
    sheet.cell(row=7, column=header.index("Diaktifkan Pada") + 1).value = datetime(2026, 11, 24, 9, 0)
    sheet.cell(row=sheet.max_row - 2, column=2).value = "Rina (GraPARI)"
    book.save(tmp_path / "filled.xlsx")
    issued = batch.issued_values(rows, T0, {"Halo 150K": "Bonus kuota 5GB"})
    batch_id, results = batch.read_filled(tmp_path / "filled.xlsx", lambda b: issued if b == "20261123-01" else None)
    assert batch_id == "20261123-01" and [r["status"] for r in results] == ["AKTIF", None, None]


def test_a_locked_cell_changed_still_names_its_cell(written, tmp_path):
    path, rows = written
    book = load_workbook(path)
    book["Batch Aktivasi"]["I8"] = "Halo 500K"
    book.save(tmp_path / "changed.xlsx")
    issued = batch.issued_values(rows, T0, {"Halo 150K": "Bonus kuota 5GB"})
    with pytest.raises(InputFileError, match=r"cell I8: locked cell changed \(Paket\)"):
        batch.read_filled(tmp_path / "changed.xlsx", lambda b: issued)
