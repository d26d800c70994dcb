"""Statement-line identity (DESIGN §5): stable across re-parsing, distinct for identical lines."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from decimal import Decimal

import pytest

from bots.parsers import (StatementLine, fingerprint, parse_statement, pending_match_key,
                          with_occurrences)

from .support import FIXTURES, SAMPLES, parse_sample

LINE = StatementLine("bca", "5270418836", date(2026, 9, 25), None,
                     "TRSF E-BANKING CR 2509/FTSCY/WS95051 500123.00 BUDI SANTOSO",
                     Decimal("500123.00"), "CR", Decimal("185800123.00"), False, 8)


def prints(statement):
    return [print_ for _, print_ in with_occurrences(statement.lines)]


def test_fingerprint_is_pinned():
    """Stored fingerprints outlive releases: this value must never change silently."""
    assert fingerprint(LINE, 1) == (
        "32f9438d8568975e11362f0511e20cd786a56a8a52465a620e7f2d1e9caee6b2")


def test_fingerprint_is_sha256_of_the_documented_fields():
    canonical = "\x1f".join([
        "statement-line/v2", "bca", "5270418836", "2026-09-25",
        "TRSFEBANKINGCR2509FTSCYWS9505150012300BUDISANTOSO", "500123.00", "CR", "2"])
    assert fingerprint(LINE, 2) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_reparsing_gives_the_same_fingerprints(path):
    assert prints(parse_sample(path)) == prints(parse_sample(path))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_fingerprints_are_unique_within_a_file(path):
    found = prints(parse_sample(path))
    assert len(set(found)) == len(found)


def test_identical_lines_get_distinct_fingerprints_by_occurrence():
    pairs = with_occurrences([LINE, LINE, LINE])
    assert [p for _, p in pairs] == [fingerprint(LINE, n) for n in (1, 2, 3)]
    assert len({p for _, p in pairs}) == 3


def test_occurrences_count_only_identical_lines():
    other = dataclasses.replace(LINE, amount=Decimal("500124.00"))
    pairs = with_occurrences([LINE, other, LINE])
    assert [p for _, p in pairs] == [
        fingerprint(LINE, 1), fingerprint(other, 1), fingerprint(LINE, 2)]


@pytest.mark.parametrize("change", [
    {"bank": "bni"}, {"account_no": "5270418837"}, {"posted_on": date(2026, 9, 26)},
    {"description": "TRSF E-BANKING CR 2509/FTSCY/WS95051 500123.00 BUDI SANTOS"},
    {"amount": Decimal("500123.01")}, {"direction": "DB"}, {"posted_on": None, "pending": True},
])
def test_every_identity_field_changes_the_fingerprint(change):
    assert fingerprint(dataclasses.replace(LINE, **change)) != fingerprint(LINE)


@pytest.mark.parametrize("change", [
    {"source_line": 99}, {"posted_at": None}, {"amount": Decimal("500123")},
    {"balance": None}, {"balance": Decimal("1.00")}, {"pending": True},
    {"description": "  trsf e-banking cr 2509/ftscy/ws95051   500123.00 budi santoso "},
])
def test_position_time_and_amount_spelling_do_not_change_the_fingerprint(change):
    assert fingerprint(dataclasses.replace(LINE, **change)) == fingerprint(LINE)


def test_pending_line_fingerprint_ignores_the_balance_that_moves_beside_it():
    pending = dataclasses.replace(LINE, posted_on=None, pending=True)
    moved = dataclasses.replace(pending, balance=Decimal("1.00"))
    assert fingerprint(moved) == fingerprint(pending)


def test_occurrence_numbers_start_at_one():
    with pytest.raises(ValueError):
        fingerprint(LINE, 0)


def test_same_export_in_another_encoding_and_line_ending_has_the_same_fingerprints():
    original = (FIXTURES / "bca-individual-cp1252.csv").read_bytes()
    text = original.decode("cp1252")
    utf8_lf = ("\ufeff" + text.replace("\r\n", "\n")).encode("utf-8")
    assert prints(parse_statement(original, "a.csv")) == prints(parse_statement(utf8_lf, "b.csv"))


def test_overlapping_downloads_agree_on_the_overlap():
    """Two downloads sharing whole days give those days' lines the same fingerprints."""
    head = "No. rekening : 5270418836\nPeriode : {p}\n\nTanggal,Keterangan,Cabang,Jumlah,,Saldo\n"
    rows = {
        "01/10": "'01/10,'BIAYA ADM,'0000,0.00,DB,100.00\n" * 2,  # identical, balance unchanged
        "02/10": ("'02/10,'TRSF E-BANKING CR 0210/FTSCY/WS95051 500123.00 BUDI,'0000,"
                  "500123.00,CR,500223.00\n"),
        "03/10": "'03/10,'BIAYA ADM,'0000,17000.00,DB,483223.00\n",
    }
    first = head.format(p="01/10/2026 - 02/10/2026") + rows["01/10"] + rows["02/10"]
    second = ("Nama : PT TRAVELPULSA NUSANTARA\n" + head.format(p="01/10/2026 - 03/10/2026")
              + rows["01/10"] + rows["02/10"] + rows["03/10"])
    a = prints(parse_statement(first.encode(), "a.csv"))
    b = prints(parse_statement(second.encode(), "b.csv"))
    assert b[:3] == a and len(set(a)) == 3 and b[3] not in a


def test_pending_line_matches_its_posted_form_by_key_not_fingerprint():
    pending = dataclasses.replace(LINE, posted_on=None, pending=True, balance=Decimal("9.00"))
    assert pending_match_key(pending) == pending_match_key(LINE)
    assert fingerprint(pending) != fingerprint(LINE)  # undated: PEND in its identity
    assert pending_match_key(pending) != pending_match_key(
        dataclasses.replace(LINE, amount=Decimal("500124.00")))


def test_pending_row_of_a_sample_matches_the_day_it_posts():
    statement = parse_sample(FIXTURES / "bca-individual-quoted.csv")
    pend = statement.lines[-1]
    posted_text = (FIXTURES / "bca-individual-quoted.csv").read_text().replace(
        "'PEND,", "'07/09,")
    posted = parse_statement(posted_text.encode(), "next-day.csv").lines[-1]
    assert not posted.pending and str(posted.posted_on) == "2026-09-07"
    assert pending_match_key(pend) == pending_match_key(posted)


def test_statement_line_init_matches_its_fields():
    """StatementLine writes its own __init__ for speed; it must take exactly the fields."""
    import inspect

    fields = [f.name for f in dataclasses.fields(StatementLine)]
    params = [name for name, p in inspect.signature(StatementLine).parameters.items()
              if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert params == fields
    assert dataclasses.replace(LINE, amount=Decimal("1.00")).amount == Decimal("1.00")
    assert dataclasses.asdict(LINE)["description"] == LINE.description


def test_statement_line_is_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LINE.amount = Decimal("0.00")  # type: ignore[misc]
    assert len({LINE, dataclasses.replace(LINE)}) == 1


INDIVIDUAL = """No. rekening : 5270418836
Nama : PT TRAVELPULSA NUSANTARA
Periode : 23/11/2026 - 23/11/2026
Kode Mata Uang : Rp

Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo
'23/11,'TRSF E-BANKING CR 2311/FTSCY/WS95051 1000000.00 ANDI WIJAYA,'0000,"1,000,000.00",CR,"11,000,000.00"
'23/11,'BIAYA ADM,'0000,"10,000.00",DB,"10,990,000.00"
'23/11,'BIAYA ADM,'0000,"10,000.00",DB,"10,980,000.00"
'PEND,'TRSF E-BANKING CR 2311/FTSCY/WS95051 500123.00 BUDI,'0000,"500,123.00",CR,"11,480,123.00"

Saldo Awal,=,10000000.00
"""
BISNIS = """Tanggal Transaksi,"Keterangan","Cabang","Jumlah"
23/11/2026,"TRSF E-BANKING CR 2311/FTSCY/WS95051    1000000.00 ANDI WIJAYA ","0000","1,000,000.00 CR"
23/11/2026,"BIAYA ADM ","0000","10,000.00 DB"
23/11/2026,"BIAYA ADM ","0000","10,000.00 DB"
23/11/2026,"TRSF E-BANKING CR 2311/FTSCY/WS95051 500123.00 BUDI ","0000","500,123.00 CR"
"""


def test_the_same_money_in_individual_and_bisnis_exports_is_the_same_lines():
    """KlikBCA Individual (balances, a PEND row) and Bisnis (no balance, padded, the row
    posted meanwhile) of one day: every line has one identity, identical fees numbered alike."""
    individual = prints(parse_statement(INDIVIDUAL.encode(), "i.csv"))
    bisnis = prints(parse_statement(BISNIS.encode(), "b.csv", account_no="5270418836"))
    assert individual == bisnis and len(set(individual)) == 4


def test_a_pending_row_is_dated_by_the_transaction_day_in_its_description():
    line = parse_statement(INDIVIDUAL.encode(), "i.csv").lines[-1]
    assert line.pending and line.posted_on == date(2026, 11, 23)
    undated = INDIVIDUAL.replace("2311/FTSCY/WS95051 500123.00", "SETOR 500123.00")
    assert parse_statement(undated.encode(), "u.csv").lines[-1].posted_on is None
    stale = INDIVIDUAL.replace("2311/FTSCY/WS95051 500123.00", "0101/FTSCY/WS95051 500123.00")
    assert parse_statement(stale.encode(), "s.csv").lines[-1].posted_on is None  # not a pending day
