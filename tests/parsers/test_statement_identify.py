"""Format detection: exactly one parser recognises each sample, from its header alone."""

from __future__ import annotations

import pytest

from bots.errors import InputFileError
from bots.parsers import FORMATS, decode, identify, parse_statement

from .support import FIXTURES, SAMPLES

EXPECTED_FORMAT = {  # file-name prefix -> format, longest prefix first
    "bca-bisnis": "bca-bisnis",
    "bca-": "bca-individual",
    "mandiri-": "mandiri-mcm",
    "bri-": "bri-cms",
    "bni": "bni-csv",
}


def _expected(name: str) -> str:
    return next(fmt for prefix, fmt in EXPECTED_FORMAT.items() if name.startswith(prefix))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_exactly_one_parser_identifies_each_sample(path):
    text = decode(path.read_bytes(), path.name)
    assert [fmt.name for fmt in FORMATS if fmt.identify(text)] == [_expected(path.name)]


def test_format_names_are_unique():
    assert len({fmt.name for fmt in FORMATS}) == len(FORMATS)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_identify_reads_only_the_header(path):
    """Rows are never looked at: a header followed by nonsense is still recognised."""
    text = decode(path.read_bytes(), path.name)
    header_and_above = [line for line in text.split("\n")
                        if not line.startswith(("'", '"1', "0", "1", "2", "3"))]
    nonsense = "\n".join(header_and_above) + "\nthis is not a row at all\n;;;\n"
    assert [fmt.name for fmt in identify(nonsense)] == [_expected(path.name)]


def test_a_header_below_the_sniffed_lines_is_not_found():
    text = "x\n" * 25 + "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\n"
    assert identify(text) == []


@pytest.mark.parametrize("header", [
    "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo",
    "Tanggal,Keterangan,Cabang,Jumlah,,Saldo",
    "Date,Description,Branch,Amount,,Balance",
    "\ufeffTanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo",
    '"Tanggal Transaksi","Keterangan","Cabang","Jumlah","","Saldo"',
])
def test_klikbca_individual_header_variants(header):
    assert [fmt.name for fmt in identify(header + "\n")] == ["bca-individual"]


@pytest.mark.parametrize("header", [
    'Tanggal Transaksi,"Keterangan","Cabang","Jumlah"',
    "Tanggal Transaksi,Keterangan,Cabang,Jumlah,Saldo",
])
def test_klikbca_bisnis_header_variants(header):
    assert [fmt.name for fmt in identify(header + "\n")] == ["bca-bisnis"]


def test_bisnis_variant_with_saldo_column_reads_the_balance():
    data = ("No. rekening : 5270418836\n\nTanggal Transaksi,Keterangan,Cabang,Jumlah,Saldo\n"
            '01/10/2026,SETORAN TUNAI,0000,"500,123.00 CR","1,500,123.00"\n').encode()
    (line,) = parse_statement(data, "b.csv").lines
    assert (str(line.amount), line.direction, str(line.balance)) == (
        "500123.00", "CR", "1500123.00")


def test_columns_found_by_name_in_any_order():
    """Mandiri, BRI and BNI columns are declared by header name, not by position."""
    text = (FIXTURES / "mandiri-mcm.csv").read_text()
    rows = [line.split(";") for line in text.splitlines()]
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    shuffled = "\n".join(";".join(row[i] for i in order) for row in rows) + "\n"
    original = parse_statement(text.encode(), "m.csv").lines
    assert parse_statement(shuffled.encode(), "m.csv").lines == original


def test_unknown_format_shows_the_first_line():
    with pytest.raises(InputFileError, match="unknown statement format") as caught:
        parse_statement(b"\n\nNo;Tanggal;Keterangan;Debit;Kredit;Saldo\n1;x\n", "p.csv")
    assert caught.value.line == 1
    assert caught.value.value == "No;Tanggal;Keterangan;Debit;Kredit;Saldo"
