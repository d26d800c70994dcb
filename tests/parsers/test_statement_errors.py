"""Malformed exports: each ``bad/`` file fails with the message in its ``.expected-error``."""

from __future__ import annotations

from datetime import date

import pytest

from bots.errors import EXIT_BAD_INPUT, InputFileError
from bots.parsers import parse_statement

from .support import BAD, BAD_SAMPLES, FIXTURES


@pytest.mark.parametrize("path", BAD_SAMPLES, ids=[p.name for p in BAD_SAMPLES])
def test_bad_sample_gives_its_expected_error(path):
    expected = path.with_name(path.name + ".expected-error").read_text(encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        parse_statement(path.read_bytes(), path.name)
    for part in filter(None, expected.splitlines()):
        assert part in str(caught.value)
    assert caught.value.path == path.name
    assert caught.value.exit_code == EXIT_BAD_INPUT


def test_every_bad_sample_states_its_error():
    assert BAD_SAMPLES, "no bad samples found"
    missing = [p.name for p in BAD_SAMPLES if not p.with_name(p.name + ".expected-error").exists()]
    assert missing == []


def test_cell_error_carries_line_column_and_value():
    path = BAD / "bca-decimal-comma.csv"
    with pytest.raises(InputFileError) as caught:
        parse_statement(path.read_bytes(), path.name)
    assert (caught.value.line, caught.value.column, caught.value.value) == (
        8, "4 (Jumlah)", "1.500.000,00")


HEADER = "Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo\n"
PREAMBLE = "No. rekening : 5270418836\nPeriode : 01/10/2026 - 05/10/2026\n\n"
ROW = "'01/10,'SETORAN TUNAI,'0412,{amount},CR,{balance}\n"
MANDIRI_HEADER = ("AccountNo;Ccy;PostDate;Remarks;AdditionalDesc;Credit Amount;Debit Amount;"
                  "Close Balance\n")


@pytest.mark.parametrize("amount", ["1.500.000,00", "Rp 1.500.000", "Rp1500000", "-1500000.00",
                                    "(1500000.00)", "", "  ", "1500000.001", "1,50,000.00",
                                    "150000,00", "1e6", "+1500000.00", "1 500 000"])
def test_rejected_amounts_name_the_jumlah_column(amount):
    data = (PREAMBLE + HEADER + ROW.format(amount=f'"{amount}"', balance="1.00")).encode()
    with pytest.raises(InputFileError) as caught:
        parse_statement(data, "x.csv")
    assert caught.value.line == 5 and caught.value.column == "4 (Jumlah)"
    assert caught.value.value == amount


def test_a_bad_cell_after_good_rows_rejects_the_whole_file():
    good = ROW.format(amount="500123.00", balance="500123.00") * 50
    data = (PREAMBLE + HEADER + good + ROW.format(amount="Rp 5", balance="1.00")).encode()
    with pytest.raises(InputFileError, match="line 55, column 4"):
        parse_statement(data, "x.csv")


def test_bad_balance_names_the_saldo_column():
    data = (PREAMBLE + HEADER + ROW.format(amount="5.00", balance='"1.234,00"')).encode()
    with pytest.raises(InputFileError, match=r"line 5, column 6 \(Saldo\)"):
        parse_statement(data, "x.csv")


def test_account_hint_that_contradicts_the_file_is_rejected():
    data = (FIXTURES / "bca-individual.csv").read_bytes()
    with pytest.raises(InputFileError, match="for account 5270418836, not 1111111111"):
        parse_statement(data, "bca-individual.csv", account_no="1111111111")


def test_account_hint_matching_the_file_is_accepted():
    data = (FIXTURES / "bca-individual.csv").read_bytes()
    assert parse_statement(data, "b.csv", account_no="5270418836").account_no == "5270418836"


def test_header_only_is_valid_when_the_caller_names_the_account():
    data = (BAD / "mandiri-header-only.csv").read_bytes()
    statement = parse_statement(data, "m.csv", account_no="1560007734218")
    assert (statement.bank, statement.account_no, statement.lines) == (
        "mandiri", "1560007734218", [])


def test_mandiri_rows_of_two_accounts_are_rejected():
    header = MANDIRI_HEADER
    row = "{acct};IDR;03 August 2026 11:27:10;TRF;X;500123.00;0.00;500123.00\n"
    data = (header + row.format(acct="1560007734218") + row.format(acct="1560007734219")).encode()
    with pytest.raises(InputFileError, match=r"line 3, column 1 \(AccountNo\): a second account"):
        parse_statement(data, "m.csv")


def test_mandiri_foreign_currency_is_rejected():
    header = MANDIRI_HEADER
    data = (header + "1560007734218;USD;03 August 2026 11:27:10;T;X;5.00;0.00;5.00\n").encode()
    with pytest.raises(InputFileError, match=r"column 2 \(Ccy\): only IDR"):
        parse_statement(data, "m.csv")


def test_bri_glsign_contradicting_the_amounts_is_rejected():
    text = (FIXTURES / "bri-cms.csv").read_text().replace('"Cr"', '"Db"', 1)
    with pytest.raises(InputFileError, match=r"line 2, column 12 \(GLSIGN\)"):
        parse_statement(text.encode(), "bri.csv")


def test_yearless_dates_take_the_year_from_today_without_a_periode():
    data = ("No. rekening : 5270418836\n\n" + HEADER
            + "'30/12,'A,'0000,1.00,CR,1.00\n'02/01,'B,'0000,1.00,CR,2.00\n").encode()
    lines = parse_statement(data, "x.csv", today=date(2026, 1, 3)).lines
    # 30/12 of 2026 would be in the future: it is last year's.
    assert [str(line.posted_on) for line in lines] == ["2025-12-30", "2026-01-02"]


def test_leap_day_outside_a_leap_year_is_rejected():
    data = ("No. rekening : 5270418836\nPeriode : 27/02/2026 - 02/03/2026\n\n" + HEADER
            + "'29/02,'A,'0000,1.00,CR,1.00\n").encode()
    with pytest.raises(InputFileError, match="day is out of range for month"):
        parse_statement(data, "x.csv")
