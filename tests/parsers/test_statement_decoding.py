"""Bytes to text: the encodings and line endings bank exports arrive in, and what is not text."""

from __future__ import annotations

import io
import zipfile

import pytest

from bots.errors import InputFileError
from bots.parsers import decode, dump, parse_statement

from .support import FIXTURES

TEXT = ("No. rekening : 5270418836\nNama : RENÉ – CELL\nPeriode : 10/10/2026 - 10/10/2026\n\n"
        "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\n"
        "'10/10,'TRSF E-BANKING CR 1010/FTSCY/WS95051 500231.00 ANDRÉ – CELL,'0000,"
        "500231.00,CR,500231.00\n")


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
    lambda t: t.encode("cp1252"),
    lambda t: t.encode("utf-16"),  # with BOM, as Excel's "Unicode text"
    lambda t: t.replace("\n", "\r\n").encode("utf-8"),
    lambda t: t.replace("\n", "\r").encode("cp1252"),  # old Mac line ends
], ids=["utf8", "utf8-bom", "cp1252", "utf16", "crlf", "cr"])
def test_encodings_and_line_endings_give_the_same_statement(encode):
    reference = parse_statement(TEXT.encode("utf-8"), "x.csv")
    statement = parse_statement(encode(TEXT), "x.csv")
    assert statement == reference
    assert statement.lines[0].description.endswith("ANDRÉ – CELL")
    assert statement.lines[0].source_line == 6


def test_latin1_is_the_last_resort_for_bytes_cp1252_leaves_undefined():
    # 0x81 is undefined in Windows-1252, so only ISO-8859-1 can read this file.
    data = TEXT.replace("–", "-").replace("ANDRÉ - CELL,", "ANDR\x81,").encode("iso-8859-1")
    assert parse_statement(data, "x.csv").lines[0].description.endswith("ANDR\x81")


def test_windows_1252_sample_reads_its_accents():
    text = decode((FIXTURES / "bca-individual-cp1252.csv").read_bytes(), "w.csv")
    assert "ANDRÉ – CELL SERPONG" in text and "\r" not in text


def test_bom_does_not_hide_the_header():
    statement = parse_statement((FIXTURES / "mandiri-mcm-indonesian-months.csv").read_bytes(), "m")
    assert statement.format == "mandiri-mcm" and len(statement.lines) == 5


def test_fixture_line_numbers_count_physical_lines_with_crlf():
    statement = parse_statement((FIXTURES / "bca-individual.csv").read_bytes(), "b.csv")
    assert [line.source_line for line in statement.lines] == list(range(7, 16))


def test_quoted_newline_in_a_description_keeps_later_line_numbers_physical():
    text = (TEXT + "'10/10,\"'SETORAN\nTUNAI\",'0412,1.00,CR,500232.00\n"
            "'10/10,'BIAYA,'0000,1.00,DB,500231.00\n")
    lines = parse_statement(text.encode(), "x.csv").lines
    assert [(line.source_line, line.description) for line in lines[1:]] == [
        (7, "SETORAN TUNAI"), (9, "BIAYA")]


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b" \r\n\r\n\t", "the file is empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "Excel .xls workbook"),
    (b"Tanggal Transaksi,Keterangan\n\x00\x01\x02", "NUL byte at offset 29"),
], ids=["empty", "blank", "xls", "nul"])
def test_what_is_not_a_text_export_is_named(data, message):
    with pytest.raises(InputFileError, match=message):
        parse_statement(data, "x.csv")


def test_zip_renamed_csv_is_named_even_when_it_holds_a_good_export():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mutasi.csv", TEXT)
    with pytest.raises(InputFileError, match=r"x.csv, line 1: this is a zip archive"):
        parse_statement(buffer.getvalue(), "x.csv")


def test_dump_is_plain_text_with_one_line_per_statement_line():
    text = dump(parse_statement(TEXT.encode(), "x.csv"))
    assert text.splitlines()[-1] == (
        "L6 2026-10-10 CR 500231.00 bal=500231.00 fp=" + text.split("fp=")[1][:12]
        + " | TRSF E-BANKING CR 1010/FTSCY/WS95051 500231.00 ANDRÉ – CELL")
