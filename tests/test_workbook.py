"""Workbooks: typed cells, frozen and filtered headers, atomic writes, a held-open target."""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bots.workbook import Column, Sheet, write

JKT = ZoneInfo("Asia/Jakarta")


def sheets():
    return [Sheet("Mutasi", [Column("Tanggal", "date"), Column("Waktu", "datetime"), Column("Keterangan"),
                             Column("Nominal", "rupiah")],
                  [[date(2026, 11, 23), datetime(2026, 11, 23, 2, 15, tzinfo=ZoneInfo("UTC")), "TRSF BUDI",
                    Decimal("500123.00")]])]


def test_cells_are_typed_and_headers_frozen_and_filtered(tmp_path):
    path, note = write(tmp_path / "r" / "x.xlsx", sheets())
    assert note is None
    sheet = load_workbook(path)["Mutasi"]
    assert [c.value for c in sheet[1]] == ["Tanggal", "Waktu", "Keterangan", "Nominal"]
    assert sheet["A2"].value == datetime(2026, 11, 23) and sheet["A2"].number_format == "DD/MM/YYYY"
    assert sheet["B2"].value == datetime(2026, 11, 23, 9, 15)  # shown in WIB
    assert sheet["D2"].value == 500123 and sheet["D2"].number_format == '"Rp" #,##0'
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D2"
    assert sheet.column_dimensions["C"].width >= len("TRSF BUDI")
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_target_held_open_is_written_beside_it(tmp_path, monkeypatch):
    target = tmp_path / "x.xlsx"
    target.write_bytes(b"held open by Excel")
    real_replace = os.replace

    def refuse_the_open_file(src, dst):
        if os.fspath(dst) == os.fspath(target):
            raise PermissionError("in use")  # what Windows shares answer while Excel holds it
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse_the_open_file)
    path, note = write(target, sheets())
    assert path.name == "x (1).xlsx" and "open in another program" in note
    assert target.read_bytes() == b"held open by Excel" and load_workbook(path)["Mutasi"]["D2"].value == 500123


def test_rows_written_as_raw_xml_read_back_as_openpyxl_would_write_them(tmp_path):
    """Plain rows skip openpyxl's cell objects (bots/workbook.py `_RowXml`); the awkward ones
    (markup, edge spaces, formulas, mixed types, empty cells) must read back the same."""
    rows = [["A & B <c> \"d\"", 1500000, date(2026, 11, 23), " padded "],
            ["=SUM(1,2)", Decimal("7.50"), date(2026, 11, 24), "tab\there"],
            ["plain", None, None, 42],
            ["", 0, date(2026, 11, 25), None]]
    columns = [Column("Teks"), Column("Nominal", "rupiah"), Column("Tanggal", "date"), Column("Catatan")]
    path, _ = write(tmp_path / "raw.xlsx", [Sheet("S", columns, rows)])
    sheet = load_workbook(path)["S"]
    got = [[c.value for c in row] for row in sheet.iter_rows(min_row=2, max_row=5)]
    assert got[0] == ["A & B <c> \"d\"", 1500000, datetime(2026, 11, 23), " padded "]
    assert got[1][1:] == [7.5, datetime(2026, 11, 24), "tab\there"]
    assert got[1][0] == "=SUM(1,2)"  # a formula-looking text goes through openpyxl, as before
    assert got[2] == ["plain", None, None, 42]
    assert got[3] == [None, 0, datetime(2026, 11, 25), None]
    assert sheet["B2"].number_format == '"Rp" #,##0' and sheet["C3"].number_format == "DD/MM/YYYY"


OUTSIDE = ["=HYPERLINK(\"http://x\",\"klik\")", "=cmd|' /C calc'!A0", "+62 812", "-1+2", "@SUM(A1)",
           "bell\x07 esc\x1b del\x7f", "<script>alert(1)</script>"]


def test_text_from_outside_is_text_in_both_row_writers(tmp_path):
    """Descriptions starting with = + - @ stay text (never a formula), control characters are
    visible escapes; the fast raw-XML rows and the rows openpyxl writes agree."""
    from bots.workbook import visible

    columns = [Column("Keterangan"), Column("Lain")]
    fast = [[text, "x"] for text in OUTSIDE]
    slow = [[text, Decimal("1.5")] for text in OUTSIDE]  # a Decimal in a text column: openpyxl's path
    path, _ = write(tmp_path / "t.xlsx", [Sheet("Cepat", columns, fast), Sheet("Lambat", columns, slow),
                                          Sheet("Judul", columns, [], title=["=1+1 judul\x01"])])
    book = load_workbook(path)
    for name in ("Cepat", "Lambat"):
        cells = [row[0] for row in book[name].iter_rows(min_row=2)]
        assert [c.data_type for c in cells] == ["s"] * len(OUTSIDE), name
        assert [c.value for c in cells] == [visible(t) for t in OUTSIDE], name
        assert cells[5].value == "bell\\x07 esc\\x1b del\\x7f"
    assert book["Judul"]["A1"].data_type == "s" and book["Judul"]["A1"].value == "=1+1 judul\\x01"
